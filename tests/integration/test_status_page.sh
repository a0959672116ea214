#!/usr/bin/env bash
# The gateway's status page after a demo sync: 401 without (or with a wrong) MLC_STATUS_TOKEN,
# 404 on a gateway without the variable, /status.json with the real numbers, and headless
# Chromium (Debian's chromium, installed here when missing; SKIPPED with the reason when it
# cannot be) renders /status?token=...: the DOM shows tenant demo's 700 records and tasks,
# its healthy webhook and the numbers Redis holds; the screenshot (kept in
# tests/out/test_status_page/status.png) is 1280x900 and not blank.
source "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
    >/tmp/test_status_page.apt.log 2>&1 || true
  CHROMIUM=$(command -v chromium || true)
fi
skip_reason=""
[ -n "$CHROMIUM" ] || skip_reason="chromium is not installed and apt-get install chromium was not possible \
($( [ "$(id -u)" -eq 0 ] && echo "see /tmp/test_status_page.apt.log" || echo "not root" ))"

stack_env
OUT="$ROOT/tests/out/test_status_page"
rm -rf "$OUT"; mkdir -p "$OUT"
export MLC_STATUS_TOKEN; MLC_STATUS_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
"$MLC" up --demo >/dev/null
wait_until 90 tasks_at_least 1200000000000101 700
wait_until 60 queues_empty demo
hook_healthy() { [ "$("${REDIS_CLI[@]}" HGET 'mlc:{demo}:webhook' active)" = 1 ]; }
wait_until 30 hook_healthy
GW="http://127.0.0.1:$MLC_GW_PORT"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$GW/status")" = 401 ] || fail "GET /status without a token: want 401"
[ "$(code "$GW/status?token=wrong")" = 401 ] || fail "GET /status with a wrong token: want 401"
[ "$(code -H 'Authorization: Bearer wrong' "$GW/status.json")" = 401 ] || fail "wrong bearer: want 401"
[ "$(code -H "Authorization: Bearer $MLC_STATUS_TOKEN" "$GW/status")" = 200 ] || fail "bearer token: want 200"
ok "401 without or with a wrong token, 200 with the bearer token"

# A gateway without MLC_STATUS_TOKEN has no status page.
port=$(free_port)
env -u MLC_STATUS_TOKEN $(stack_proc_env) "$BIN/mlc-webhook-gw" --port "$port" \
  >>"$MLC_RUN_DIR/logs/mlc-webhook-gw-notoken.log" 2>&1 &
EXTRA_PIDS+=($!)
disown $!   # killed by pid at exit, without a job-control notice
gw_up() { curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; }
wait_until 10 gw_up
[ "$(code "http://127.0.0.1:$port/status?token=$MLC_STATUS_TOKEN")" = 404 ] || fail "status page without MLC_STATUS_TOKEN: want 404"
ok "no MLC_STATUS_TOKEN: 404"

# What Redis holds, to compare the page with.
R() { "${REDIS_CLI[@]}" "$@"; }
cat > "$OUT/expect.json" <<EOF
{"records_synced": $(R HGET 'mlc:{demo}:stats' records_seen), "tasks_mapped": $(R HLEN 'mlc:{demo}:taskmap'),
 "po_records": $(R HGET 'mlc:{demo}:sync:purchase_orders' records),
 "inv_records": $(R HGET 'mlc:{demo}:sync:supplier_invoices' records),
 "po_runs": $(R XLEN 'mlc:{demo}:sync:purchase_orders:log')}
EOF
curl -sf -H "Authorization: Bearer $MLC_STATUS_TOKEN" "$GW/status.json" -o "$OUT/status.json"
python3 - "$OUT" <<'PY' || fail "/status.json does not show the demo run"
import json, sys
out = sys.argv[1]
want = json.load(open(f"{out}/expect.json"))
d = json.load(open(f"{out}/status.json"))["tenants"]["demo"]
assert d["tasks_mapped"] == want["tasks_mapped"] == 700, d["tasks_mapped"]
assert d["counters"]["records_seen"] == want["records_synced"], d["counters"]
assert d["webhook"]["health"] == "healthy", d["webhook"]
f = d["flows"]["purchase_orders"]
assert f["records"] == want["po_records"] and len(f["history"]) == want["po_runs"] >= 1, f
assert d["flows"]["supplier_invoices"]["records"] == want["inv_records"]
print("ok: /status.json: demo has 700 tasks, its records synced, a healthy webhook and its sync history")
PY

if [ -n "$skip_reason" ]; then
  echo "SKIPPED: headless Chromium render: $skip_reason"
  exit 0
fi

# chromium ARGS...: one headless run with a fresh profile and no network but the gateway.
chromium_run() {
  local profile; profile=$(mktemp -d "$MLC_RUN_DIR/chromium.XXXXXX")
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=1280,900 "$@" 2>>"$OUT/chromium.log"
}
URL="$GW/status?token=$MLC_STATUS_TOKEN"
chromium_run --dump-dom "$URL" > "$OUT/dom.html" || fail "chromium --dump-dom failed (tests/out/test_status_page/chromium.log)"
chromium_run --screenshot="$OUT/status.png" "$URL" >/dev/null || fail "chromium --screenshot failed"

python3 - "$OUT" <<'PY' || fail "the rendered page is wrong"
import html.parser, json, struct, sys, zlib
out = sys.argv[1]
want = json.load(open(f"{out}/expect.json"))

# The DOM as Chromium built it: numbers by data-k inside tenant demo's section.
class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.values = {}; self.key = None; self.svgs = []; self.badges = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section": self.stack.append(a.get("data-tenant"))
        if tag == "tr" and "data-flow" in a: self.flow = a["data-flow"]
        tenant = self.stack[-1] if self.stack else None
        if tenant == "demo" and "data-k" in a:
            self.key = (getattr(self, "flow", None) if tag == "td" else None, a["data-k"]); self.values[self.key] = ""
        if tenant == "demo" and tag == "svg": self.svgs.append(int(a.get("data-runs", "0")))
    def handle_endtag(self, tag):
        if tag == "section" and self.stack: self.stack.pop()
        if tag in ("b", "td", "span"): self.key = None
    def handle_data(self, data):
        if self.key: self.values[self.key] += data
p = Page(); p.feed(open(f"{out}/dom.html").read())
v = p.values
assert v[(None, "tasks_mapped")].strip() == "700", v
assert int(v[(None, "records_synced")]) == want["records_synced"], (v[(None, "records_synced")], want)
assert v[(None, "webhook")].strip() == "webhook healthy", v[(None, "webhook")]
assert int(v[("purchase_orders", "records")]) == want["po_records"], v
assert int(v[("supplier_invoices", "records")]) == want["inv_records"], v
assert v[(None, "dead")].strip() == "0" and v[(None, "failed_syncs")].strip() == "0"
assert len(p.svgs) == 2 and p.svgs[0] == want["po_runs"], p.svgs
print(f"ok: DOM: tenant demo shows 700 tasks, {want['records_synced']} records synced "
      f"({want['po_records']} POs, {want['inv_records']} invoices in the last runs), webhook healthy, 2 charts")

# The screenshot: a PNG of the window size that is not blank (decoded with zlib alone).
data = open(f"{out}/status.png", "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]; pos += 12 + n
    if typ == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    elif typ == b"IDAT": idat += body
w, h, depth, ctype = ihdr[:4]
assert (w, h) == (1280, 900), (w, h)
assert depth == 8 and ctype in (2, 6), ihdr
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, colors, nonwhite, i = bytearray(stride), set(), 0, 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):
        px = bytes(line[x:x + 3]); colors.add(px); nonwhite += px != b"\xff\xff\xff"
    prev = line
share = nonwhite / (w * h / 2)
assert len(colors) >= 16 and share > 0.05, (len(colors), share)
print(f"ok: screenshot {w}x{h}, {len(colors)} colours, {share:.0%} of the pixels not white: tests/out/test_status_page/status.png")
PY
