"""Reads the simulators of the demo stack the way an auditor would: the ERP records through the
ERPs' own APIs (IFS OData, M3 MI, SyteLine IDO), the tasks and write logs through the /_sim/
control endpoints. Used by approve.py (which records to approve) and check.py (the verdict).
Every call retries 429/5xx/connection errors for a while: faults may still be on."""
import base64
import datetime
import json
import time
import urllib.error
import urllib.parse
import urllib.request

# The demo tenants (deploy/demo): tenant id -> ERP type and Asana project.
TENANTS = {
    "demo": {"erp": "ifs", "project": "1200000000000101"},
    "demo-m3": {"erp": "m3", "project": "1200000000000102"},
    "demo-syteline": {"erp": "syteline", "project": "1200000000000103"},
}
ASANA_PAT = "demo-pat"

# Per flow: where its records are, their key, amount and state members, and the states in which
# an approval is written to the ERP (docs/writeback.md defaults). None = approvals of this kind
# are audit only (M3 purchase orders): never picked.
FLOWS = {
    ("demo", "po"): {"key": "OrderNo", "amount": "NetAmtCurr", "state": "Objstate",
                     "no_write": {"Authorized", "Closed", "Cancelled", "Rejected"}},
    ("demo", "invoice"): {"key": "InvoiceId", "amount": "GrossAmount", "state": "Objstate",
                          "no_write": {"Approved", "Authorized", "Posted", "Paid", "Rejected",
                                       "Cancelled"}},
    ("demo-m3", "po"): {"key": "PUNO", "amount": "NTAM", "state": "PUST", "no_write": None},
    ("demo-m3", "invoice"): {"key": "INBN", "amount": "CUAM", "state": "SUPA",
                             "no_write": {"90"}},
    ("demo-syteline", "po"): {"key": "PoNum", "amount": "PoTotal", "state": "Stat",
                              "no_write": {"O", "F", "C"}},
    ("demo-syteline", "invoice"): {"key": "Voucher", "amount": "InvAmt", "state": "Stat",
                                   "no_write": {"A", "R", "H"}},
}


def _epoch(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Sims:
    """The three simulators at their base URLs (http://127.0.0.1:PORT)."""

    def __init__(self, ifs, ion, asana, patience_s=120):
        self.ifs, self.ion, self.asana = ifs, ion, asana
        self.patience_s = patience_s
        self._tokens = {}

    # ---- HTTP --------------------------------------------------------------------------------
    def call(self, method, url, body=None, headers=None, form=None):
        """JSON answer of one request; retries 401 (new token), 429, 5xx and refused connections
        until patience_s; raises RuntimeError on anything else or when patience runs out."""
        end = time.time() + self.patience_s
        last = None
        while True:
            data = None
            h = dict(headers or {})
            if form is not None:
                data = urllib.parse.urlencode(form).encode()
                h["Content-Type"] = "application/x-www-form-urlencoded"
            elif body is not None:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            req = urllib.request.Request(url, data=data, method=method, headers=h)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    raw = r.read()
                    return json.loads(raw) if raw else {}
            except urllib.error.HTTPError as e:
                last = f"{method} {url}: {e.code} {e.read()[:200]!r}"
                if e.code not in (429, 500, 502, 503, 504):
                    raise RuntimeError(last) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                last = f"{method} {url}: {e}"
            if time.time() > end:
                raise RuntimeError(f"gave up: {last}")
            time.sleep(0.3)

    # ---- ERP records -------------------------------------------------------------------------
    def _ifs_token(self):
        if "ifs" not in self._tokens:
            t = self.call("POST", f"{self.ifs}/auth/realms/ifs/protocol/openid-connect/token",
                          form={"grant_type": "client_credentials", "client_id": "mlc-demo",
                                "client_secret": "demo-secret"})
            self._tokens["ifs"] = t["access_token"]
        return self._tokens["ifs"]

    def _ion_token(self, ti):
        if ti not in self._tokens:
            basic = base64.b64encode(f"{ti}~mlc-demo:demo-client-secret".encode()).decode()
            t = self.call("POST", f"{self.ion}/{ti}/as/token.oauth2",
                          headers={"Authorization": f"Basic {basic}"},
                          form={"grant_type": "password", "username": f"{ti}#svc-access-key",
                                "password": "demo-service-secret"})
            self._tokens[ti] = t["access_token"]
        return self._tokens[ti]

    def _ifs_rows(self, entity, select):
        url = (f"{self.ifs}/main/ifsapplications/projection/v1/{entity}?"
               + urllib.parse.urlencode({"$select": select}))
        rows = []
        while url:
            page = self.call("GET", url, headers={"Authorization": f"Bearer {self._ifs_token()}"})
            rows += page["value"]
            url = page.get("@odata.nextLink")
        return rows

    def _m3_rows(self, tx, inputs):
        url = (f"{self.ion}/DEMO_TST/M3/m3api-rest/v2/execute/{tx};maxrecs=0?"
               + urllib.parse.urlencode(inputs))
        r = self.call("GET", url, headers={"Authorization": f"Bearer {self._ion_token('DEMO_TST')}"})
        return r["results"][0]["records"]

    def _ido_rows(self, ido, props):
        url = (f"{self.ion}/DEMO_CSI/CSI/IDORequestService/ido/load/{ido}?"
               + urllib.parse.urlencode({"properties": props, "recordcap": "0"}))
        r = self.call("GET", url, headers={"Authorization": f"Bearer {self._ion_token('DEMO_CSI')}",
                                           "X-Infor-MongooseConfig": "DEMO_SITE"})
        if not r.get("Success"):
            raise RuntimeError(f"IDO load {ido}: {r.get('Message')}")
        return r["Items"]

    def records(self, tenant, kind):
        """{erp key: {"amount": float, "state": str}} of one flow, as the ERP shows it now."""
        f = FLOWS[(tenant, kind)]
        sel = f"{f['key']},{f['amount']},{f['state']}"
        if tenant == "demo":
            entity = ("PurchaseOrderHandling.svc/PurchaseOrderSet" if kind == "po"
                      else "ManSuppInvoiceHandling.svc/ManSuppInvoiceSet")
            rows = self._ifs_rows(entity, sel)
        elif tenant == "demo-m3":
            rows = (self._m3_rows("PPS001MI/ListHeadBasic", {"CONO": "100"}) if kind == "po"
                    else self._m3_rows("APS450MI/LstInvBatchNo", {"CONO": "100", "DIVI": "AAA"}))
        else:
            rows = self._ido_rows("SLPos" if kind == "po" else "SLVchHdrs", sel)
        return {str(r[f["key"]]).strip(): {"amount": float(r[f["amount"]]),
                                           "state": str(r[f["state"]]).strip()} for r in rows}

    # ---- Asana -------------------------------------------------------------------------------
    def tasks(self, tenant):
        """Every task of the tenant's project (/_sim/tasks: unpaginated, with field values)."""
        return self.call("GET", f"{self.asana}/_sim/tasks?project={TENANTS[tenant]['project']}")["data"]

    def complete(self, gid):
        """Completes a task through the public API, as a reviewer would."""
        return self.call("PUT", f"{self.asana}/api/1.0/tasks/{gid}", body={"data": {"completed": True}},
                         headers={"Authorization": f"Bearer {ASANA_PAT}"})

    def config(self, side, settings):
        base = {"ifs": self.ifs, "ion": self.ion, "asana": self.asana}[side]
        return self.call("POST", f"{base}/_sim/config", body=settings)

    # ---- ERP write logs ----------------------------------------------------------------------
    def api_writes(self, tenant, kind, key):
        """(successful API writes, API writes without a usable If-Match, time of the first
        successful write as epoch seconds or None) on one record; SIM changes are not counted.
        Infor has no If-Match: the second number is always 0."""
        if tenant == "demo":
            s = "PurchaseOrderSet" if kind == "po" else "ManSuppInvoiceSet"
            log = self.call("GET", f"{self.ifs}/_sim/ifs/entity?"
                            + urllib.parse.urlencode({"set": s, "key": key}))["write_log"]
            api = [w for w in log if w["kind"] != "SIM"]
            ok = [w for w in api if 200 <= w["status"] < 300]
            return (len(ok), sum(1 for w in api if w.get("if_match") in (None, "", "*")),
                    _epoch(ok[0]["at"]) if ok else None)
        ti = "DEMO_TST" if tenant == "demo-m3" else "DEMO_CSI"
        log = self.call("GET", f"{self.ion}/_sim/ion/record?" + urllib.parse.urlencode(
            {"tenant": ti, "table": kind, "key": key}))["write_log"]
        ok = [w for w in log if w.get("via") != "sim" and "changes" in w]
        return (len(ok), 0, _epoch(ok[0]["at"]) if ok else None)

    def modify(self, tenant, kind, key, amount):
        """Changes a record's amount inside the ERP (a user editing it), as the ERP's wire text."""
        if tenant == "demo":
            s = "PurchaseOrderSet" if kind == "po" else "ManSuppInvoiceSet"
            member = FLOWS[(tenant, kind)]["amount"]
            return self.call("POST", f"{self.ifs}/_sim/ifs/modify",
                             body={"set": s, "key": key, "changes": {member: amount}})
        ti = "DEMO_TST" if tenant == "demo-m3" else "DEMO_CSI"
        member = FLOWS[(tenant, kind)]["amount"]
        text = f"{amount:.2f}" if tenant == "demo-m3" else f"{amount:.8f}"
        return self.call("POST", f"{self.ion}/_sim/ion/modify",
                         body={"tenant": ti, "table": kind, "key": key, "changes": {member: text}})
