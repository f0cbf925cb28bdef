# Go test programs, built at test time (sourced by the Go end-to-end tests
# after lib.sh). Standard library only, no network; the build cache is
# the repository's build/go-cache, shared by the plain and the sanitized
# build trees (it holds only Go's own objects), so no later test compiles
# the standard library again, and no home directory is touched.
GO_SRC=$E2E/go
export GOCACHE=${MT_GOCACHE:-$E2E/../../build/go-cache} GOPATH=$TMP/gopath GOFLAGS=-mod=mod GO111MODULE=off \
	GOPROXY=off GOTOOLCHAIN=local

# The Go toolchains installed (Debian's golang-go and golang-1.NN-go), one
# go binary a line, oldest first.
go_toolchains() {
	local g
	for g in /usr/lib/go-1.*/bin/go; do
		[ -x "$g" ] && echo "$g"
	done | sort -t. -k2 -n
	return 0
}

# go_build GO PROGRAM OUT [go build flags...]: tests/e2e/go/PROGRAM -> OUT
go_build() {
	local go=$1 prog=$2 out=$3
	shift 3
	(cd "$GO_SRC/$prog" && "$go" build "$@" -o "$out" main.go) >"$out.log" 2>&1 ||
		{ echo "cannot build $prog with $go: $(cat "$out.log")"; return 1; }
}
