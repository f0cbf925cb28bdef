# bash completion for memtrace(1). Installed by `make install` into
# $(PREFIX)/share/bash-completion/completions/memtrace.
# Needs nothing from the bash-completion package (it uses it when loaded).

_memtrace_pids()
{
	local p
	for p in /proc/[0-9]*; do
		printf '%s\n' "${p#/proc/}"
	done
}

_memtrace()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i
	local opts="-p --pid -d --duration -i --interval --json --json-leaks --json-sites --min-age --top
		--sort -o --output --pprof --folded --weight --html
		--lib --no-heap --no-vm --vm-source --fault-source --no-pools --pool-events --go --no-go --reachability --no-reachability --fail-on-leak --listen --metrics-top
		--btf --ringbuf-mb --sample-bytes --max-overhead --callsite-only -f --follow --unwind --max-depth
		--wrapper --debuginfod-timeout --no-tty -v --verbose -h --help
		-V --version"

	# After "--" the words are a command and its arguments.
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [ "${COMP_WORDS[i]}" = "--" ]; then
			if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
				COMPREPLY=($(compgen -c -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return 0
		fi
	done
	case ${COMP_WORDS[1]:-} in
	diff)
		case $prev in
		--json) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
		--top) return 0 ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --top -h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
		fi
		return 0 ;;
	report)
		case $prev in
		--pprof|--folded|--html|-o|--output) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
		--weight) COMPREPLY=($(compgen -W "live_bytes live_objects alloc_bytes allocs" -- "$cur")); return 0 ;;
		--sort) COMPREPLY=($(compgen -W "live_bytes alloc_bytes allocs rate growth" -- "$cur")); return 0 ;;
		--top) return 0 ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--pprof --folded --weight --html --text --sort --top -o --output
				-h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
		fi
		return 0 ;;
	compare)
		case $prev in
		--json|--keep|-o|--output|--lib|--btf) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
		--unwind) COMPREPLY=($(compgen -W "auto fp cfi" -- "$cur")); return 0 ;;
		--repeat|--env-a|--env-b|--label-a|--label-b|--top|--sample-bytes|--max-depth|--wrapper|\
		--ringbuf-mb|--json-leaks|--json-sites|--debuginfod-timeout|--max-overhead) return 0 ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--repeat --env-a --env-b --label-a --label-b --json -o --output
				--top --keep --untraced --lib --btf --sample-bytes --callsite-only --unwind --max-depth
				--wrapper --ringbuf-mb --no-vm --no-reachability -f --follow --json-leaks
				--json-sites --debuginfod-timeout --max-overhead -v --verbose -h --help -- " -- "$cur"))
		fi
		return 0 ;;
	layout)
		case $prev in
		--json|--report) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
		-p|--pid) COMPREPLY=($(compgen -W "$(_memtrace_pids)" -- "$cur")); return 0 ;;
		-d|--duration|--keep-first|--keep-together) return 0 ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --report -p --pid -d --duration --keep-first
				--keep-together --abi-stable -h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return 0 ;;
	esac
	case $prev in
	-p|--pid)
		COMPREPLY=($(compgen -W "$(_memtrace_pids)" -- "$cur"))
		return 0 ;;
	--unwind)
		COMPREPLY=($(compgen -W "auto fp cfi" -- "$cur"))
		return 0 ;;
	--vm-source)
		COMPREPLY=($(compgen -W "auto uprobe tracepoint raw_tp" -- "$cur"))
		return 0 ;;
	--fault-source)
		COMPREPLY=($(compgen -W "auto perf tracepoint" -- "$cur"))
		return 0 ;;
	--weight)
		COMPREPLY=($(compgen -W "live_bytes live_objects alloc_bytes allocs" -- "$cur"))
		return 0 ;;
	--sort)
		COMPREPLY=($(compgen -W "live_bytes alloc_bytes allocs rate growth" -- "$cur"))
		return 0 ;;
	--json|--lib|--btf|--pprof|--folded|--html|-o|--output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	-d|--duration|-i|--interval|--json-leaks|--json-sites|--min-age|--top|--listen|--metrics-top|\
	--ringbuf-mb|--sample-bytes|--max-depth|--max-overhead|--wrapper|--debuginfod-timeout)
		return 0 ;;   # a value: nothing to offer
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "compare diff layout report" -- "$cur"))
	fi
	return 0
}
complete -F _memtrace memtrace
