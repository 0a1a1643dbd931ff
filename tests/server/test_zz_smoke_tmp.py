def test_smoke(api):
    ws = api.workspace("Smoke")
    print(ws)
    b = api.board(ws["id"])
    print([ (c["name"], c["kind"], c["rank"]) for c in b["columns"]])
    print(api.ok("GET", f"/boards/{b['id']}"))
    print(api.get("/workspaces/not-a-uuid").status_code, api.get("/workspaces/not-a-uuid").text)
    print(api.ok("GET", "/workspaces"))
