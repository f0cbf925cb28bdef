# Helpers of the Go tests (t30, t31), sourced after tests/e2e/lib.sh.

# go_build GO NAME LDFLAGS: build tests/e2e/go/gcprog.go with the toolchain
# GO into $TMP/NAME; Go's build cache shared with the other Go tests
# (go/build.sh), standard library only, no network.
go_build() {
	mkdir -p "$TMP/src"
	cp "$E2E/go/gcprog.go" "$TMP/src/"
	(cd "$TMP/src" && GOCACHE="${MT_GOCACHE:-$E2E/../../build/go-cache}" GOPATH="$TMP/gopath" GO111MODULE=off \
		GOFLAGS= GOPROXY=off GOTOOLCHAIN=local "$1" build -ldflags="$3" -o "$TMP/$2" gcprog.go)
}

# go_attach BINARY NAME [VAR=VALUE...]: run $TMP/BINARY in that
# environment, attach, let it run its GCs (6 cycles, or $GCPROG_ARGS:
# CYCLES [ALLOCS]), detach while it is parked; leaves $TMP/NAME.json, .txt
# and .err (memtrace) and .out (the program).
go_attach() {
	local bin=$1 name=$2 wl mt
	shift 2
	rm -f "$TMP/go1" "$TMP/go2"
	mkfifo "$TMP/go1" "$TMP/go2"
	local -a cycles
	read -r -a cycles <<<"${GCPROG_ARGS:-6}"
	env "$@" "$TMP/$bin" "$TMP/go1" "$TMP/go2" "${cycles[@]}" >"$TMP/$name.out" 2>&1 &
	wl=$!
	CLEANUP_PIDS+=("$wl")
	wait_for "$TMP/$name.out" '^ready' || fail "$name did not start"
	"$MT" -p "$wl" --no-vm --json "$TMP/$name.json" >"$TMP/$name.txt" 2>"$TMP/$name.err" &
	mt=$!
	CLEANUP_PIDS+=("$mt")
	wait_for "$TMP/$name.err" 'attached to PID' || fail "memtrace did not attach to $name"
	: >"$TMP/go1"   # the open alone releases it
	wait_for "$TMP/$name.out" '^parked' || fail "$name did not finish its GC phase"
	kill -INT "$mt"
	wait "$mt" || fail "memtrace exited $? on $name: $(cat "$TMP/$name.err")"
	alive "$wl" || fail "$name died with memtrace"
	: >"$TMP/go2"
	wait "$wl" || fail "$name exited $? after detach: $(cat "$TMP/$name.out")"
}
