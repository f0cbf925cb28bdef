#!/usr/bin/env bash
# The layer check: every #include in user/ points down the pipeline (or
# within its own folder), never up or sideways. The table below is the
# architecture's source of truth; docs/architecture.md draws it.
#   util <- sym <- {target,unwind} <- probe <- collect <- report <- {analyze,vm,reach,diff,layout,serve,ptree,output,budget,pools,go} <- cli
# Headers are included by folder ("collect/mt_agg.h"). Bare names are the
# BPF contract headers in bpf/ (from probe up; bpf/unwind.h also from
# unwind/, which builds the tables it describes) and generated skeletons (only
# in a loader). Exits 1 listing every violation, 0 with a summary line.
set -u
cd "$(dirname "$0")/../.."

declare -A layer=(
	[util]=0 [sym]=1 [target]=2 [unwind]=2 [probe]=3 [collect]=4 [report]=5
	[analyze]=6 [vm]=6 [reach]=6 [diff]=6 [layout]=6 [serve]=6 [ptree]=6 [output]=6 [budget]=6 [pools]=6 [go]=6 [cli]=7
)
# compare/ (memtrace compare) reads reports with diff/ (layer 6): it sits
# between the analyses and cli: ... <- {analyze,...,diff,...} <- compare <- cli
layer[compare]=7 layer[cli]=8
# Loaders: the only files that may include a skeleton.
loaders=" user/probe/mt_heap.c user/vm/mt_vm_load.c user/vm/mt_vm_read.c user/vm/mt_vm_sites.c user/vm/mt_vm_perf.c user/pools/mt_pools_load.c user/go/mt_go_alloc.c user/go/mt_go_gc.c "
# The protobuf-c code generated from pprof's profile.proto: its one writer.
pbusers=" user/output/mt_out_pprof.c "

bad=0 checked=0
fail() { echo "layers: $1" >&2; bad=$((bad + 1)); }

for dir in user/*/; do
	d=$(basename "$dir")
	[ -n "${layer[$d]+x}" ] || fail "user/$d/ has no layer: add it to tests/lint/layers.sh and docs/architecture.md"
done

for f in user/*/*.[ch]; do
	d=$(basename "$(dirname "$f")")
	mine=${layer[$d]:-}
	[ -n "$mine" ] || continue
	while IFS=: read -r ln inc; do
		checked=$((checked + 1))
		case $inc in
		*/*)
			to=${inc%%/*}
			if [ ! -f "user/$inc" ]; then
				fail "$f:$ln includes \"$inc\", which does not exist"
			elif [ -z "${layer[$to]+x}" ]; then
				fail "$f:$ln includes \"$inc\" from a folder with no layer"
			elif [ "$to" != "$d" ] && [ "${layer[$to]}" -ge "$mine" ]; then
				fail "$f:$ln: $d/ (layer $mine) includes $inc (layer ${layer[$to]}): a dependency must point down"
			fi ;;
		*.pb-c.h)
			case $pbusers in *" $f "*) ;; *) fail "$f:$ln includes the generated \"$inc\": only the pprof writer may ($pbusers)" ;; esac ;;
		*.skel.h)
			case $loaders in *" $f "*) ;; *) fail "$f:$ln includes the skeleton \"$inc\": only loaders may ($loaders)" ;; esac ;;
		*)
			if [ ! -f "bpf/$inc" ]; then
				fail "$f:$ln includes \"$inc\" without its folder"
			elif [ "$d/$inc" = unwind/unwind.h ]; then
				:   # the unwind tables' layout: unwind/ builds what bpf/unwind.bpf.h reads
			elif [ "$mine" -lt "${layer[probe]}" ]; then
				fail "$f:$ln: $d/ (layer $mine) includes the BPF contract \"$inc\": only probe/ and above may"
			fi ;;
		esac
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		 sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done

if [ $bad -ne 0 ]; then
	echo "layers: $bad violation(s); the order is in tests/lint/layers.sh and docs/architecture.md" >&2
	exit 1
fi
echo "layers: $checked includes in user/ point down the pipeline"
