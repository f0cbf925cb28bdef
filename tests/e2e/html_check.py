#!/usr/bin/env python3
"""Load memtrace's HTML report in headless Chromium through chromedriver
(WebDriver, spoken with urllib: no Selenium in Debian's python3) and check
what a person would see.

Why WebDriver: it gives the browser's console log (goog:loggingPrefs,
/se/log: every console error, uncaught exception and CSP violation, with
its level), the DOM after the scripts ran, real clicks and typing, and a
screenshot, from one browser session. --enable-logging=stderr mixes the
console with Chromium's own noise (dbus, GPU) and cannot click.

The browser runs with every network request sent to a dead proxy (loopback
included), so a page that fetched anything would log an error.

  html_check.py PAGE.html ARTIFACTS_DIR CHECKS.json
CHECKS: {"leak_func": name that must be in the leak table, "zoom_func": a
flame-graph frame to click, "totals": the report's totals, "text": [strings
the page must show verbatim], "sections": {id: [strings that section must
show]}, "rows": [[id, [strings one table row of that section must show,
each in a cell of its own]]], "charts": {id: charts drawn in it at least}}.
Without leak_func (a report with no leak, a Go program's) the flame graph,
leak table, zoom, weight and search checks are left out. Exits 1 naming
the first failed check.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

page, artifacts, checks_path = sys.argv[1:4]
checks = json.load(open(checks_path))
os.makedirs(artifacts, exist_ok=True)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


port = free_port()
base = f"http://127.0.0.1:{port}"
# Its own session: the shell's EXIT trap kills the whole group, browser included.
driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def call(method, path, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r).get("value")
    except urllib.error.HTTPError as e:
        v = json.load(e).get("value", {})
        fail(f"WebDriver {method} {path}: {v.get('error')}: {str(v.get('message'))[:300]}")


sid = None
try:
    for _ in range(100):
        try:
            with urllib.request.urlopen(base + "/status", timeout=1) as r:
                if json.load(r)["value"].get("ready"):
                    break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        fail("chromedriver did not start")
    caps = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400",
            f"--user-data-dir={artifacts}/.profile",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--no-first-run", "--disable-extensions"]}}}}
    sid = call("POST", "/session", caps, timeout=60)["sessionId"]
    s = f"/session/{sid}"
    call("POST", s + "/url", {"url": "file://" + os.path.abspath(page)})

    def js(code, *args):
        return call("POST", s + "/execute/sync", {"script": code, "args": list(args)})

    for _ in range(50):
        if js("return document.body.getAttribute('data-mt-ready')") == "1":
            break
        time.sleep(0.1)
    else:
        fail("the page's script did not finish (data-mt-ready unset): an exception?")

    def find(xpath):
        return call("POST", s + "/element", {"using": "xpath", "value": xpath})

    def click(e):
        call("POST", s + f"/element/{list(e.values())[0]}/click", {})

    # the flame graph and the tables are drawn
    heap = "leak_func" in checks
    nboxes = js("return document.querySelectorAll('#fg .fgn').length")
    if heap and nboxes < 3:
        fail(f"flame graph: {nboxes} frames drawn")
    for sec in ("summary", "timeline", "flame", "leaks", "sites", *checks.get("sections", {})):
        if not js("var e = document.getElementById(arguments[0]); return !!e && e.offsetHeight > 0", sec):
            fail(f"section #{sec} missing or not rendered")
    rows = js("return document.querySelectorAll('#leaks tbody tr').length")
    if heap and rows < 1:
        fail("leak table has no rows")
    leaks_text = js("return document.getElementById('leaks').textContent")
    if heap and checks["leak_func"] not in leaks_text:
        fail(f"leak site {checks['leak_func']!r} not in the rendered leak table")
    # the extension sections: their text, a row with its cells, charts drawn
    for sec, want in checks.get("sections", {}).items():
        text = js("return document.getElementById(arguments[0]).textContent", sec)
        for t in want:
            if t not in text:
                fail(f"section #{sec} does not show {t!r}")
    for sec, cells in checks.get("rows", []):
        got = js("return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
                 ".map(function (r) { return Array.from(r.cells).map(function (c) { return c.textContent; }); })", sec)
        if not any(all(c in r for c in cells) for r in got):
            fail(f"no row of #{sec} has the cells {cells}: {got[:5]}")
    for sec in list(checks.get("sections", {}))[:1]:
        js("document.getElementById(arguments[0]).scrollIntoView()", sec)
        png = call("GET", s + "/screenshot")
        open(os.path.join(artifacts, "sections.png"), "wb").write(base64.b64decode(png))
        js("window.scrollTo(0, 0)")
    for sec, n in checks.get("charts", {}).items():
        drawn = js("return document.querySelectorAll('#' + arguments[0] + ' .chart svg path').length", sec)
        if drawn < n:
            fail(f"section #{sec}: {drawn} chart lines drawn, at least {n} expected")
    dom = call("GET", s + "/source")
    open(os.path.join(artifacts, "dom.html"), "w").write(dom)
    body_text = js("return document.getElementById('app').textContent")   # drawn, not the data
    for t in checks.get("text", []):
        if t not in body_text:
            fail(f"the page does not show {t!r} verbatim")
    if js("return document.querySelectorAll('img, iframe, object, embed').length"):
        fail("the page holds an element it never makes: markup from the data was parsed")
    if js("return document.scripts.length") != 2:
        fail(f"{js('return document.scripts.length')} script elements, 2 expected")
    if js("return document.title") != "memtrace report":
        fail("the title changed")

    png = call("GET", s + "/screenshot")
    open(os.path.join(artifacts, "report.png"), "wb").write(base64.b64decode(png))

    # the heap's flame graph: weights, zoom, search (a report with a leak)
    if heap:
        # weight switching: the flame graph's total is the report's, per weight
        for w in ("allocs", "live_objects"):
            click(find(f"//select[@id='fg-weight']/option[@value='{w}']"))
            status = js("return document.getElementById('fg-status').textContent")
            want = f"total {checks['totals'][w]:,}"
            if not status.startswith(want):
                fail(f"weight {w}: status {status!r}, expected it to start with {want!r}")
        click(find("//select[@id='fg-weight']/option[@value='live_bytes']"))

        # zoom: click a frame; it spans the whole width, the status says so
        z = checks["zoom_func"]
        xp = f"//div[@id='fg']/div[contains(@class,'fgn') and not(contains(@class,'anc')) and text()='{z}']"
        w_before = js("return arguments[0].getBoundingClientRect().width", find(xp))
        click(find(xp))
        e = find(xp)
        w_after = js("return arguments[0].getBoundingClientRect().width", e)
        fg_w = js("return document.getElementById('fg').clientWidth")
        status = js("return document.getElementById('fg-status').textContent")
        if f"zoomed into {z}" not in status or w_after < fg_w * 0.98 or w_after <= w_before:
            fail(f"zoom into {z}: width {w_before:.0f} -> {w_after:.0f} of {fg_w}, status {status!r}")
        click(find("//button[@id='fg-reset']"))
        if "zoomed" in js("return document.getElementById('fg-status').textContent"):
            fail("reset zoom did not reset")

        # search: typing marks the matching frames
        box = find("//input[@id='fg-search']")
        call("POST", s + f"/element/{list(box.values())[0]}/value", {"text": checks["leak_func"]})
        hits = js("return document.querySelectorAll('#fg .fgn.hit').length")
        status = js("return document.getElementById('fg-status').textContent")
        if hits < 1 or "matched" not in status:
            fail(f"search {checks['leak_func']!r}: {hits} frames marked, status {status!r}")
        png = call("GET", s + "/screenshot")
        open(os.path.join(artifacts, "search.png"), "wb").write(base64.b64decode(png))

    # the console: nothing at error level (exceptions, CSP, failed loads)
    log = call("POST", s + "/se/log", {"type": "browser"})
    open(os.path.join(artifacts, "console.json"), "w").write(json.dumps(log, indent=1))
    errors = [e for e in log if e.get("level") in ("SEVERE", "ERROR")]
    if errors:
        fail(f"console errors: {errors[:3]}")
    print(f"ok: {nboxes} flame-graph frames, {rows} leak rows, {len(log)} console messages, none an error")
finally:
    if sid:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/session/{sid}", method="DELETE"),
                                   timeout=10).close()
        except OSError:
            pass
    driver.terminate()
    try:
        driver.wait(5)
    except subprocess.TimeoutExpired:
        driver.kill()
