"""Workspaces, members and invitations against a real server process and Postgres."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.support.checks import join, problem, sql


def changes(database_url: str, workspace_id: str) -> list[tuple]:
    return sql(database_url, "select seq, entity_type, op, changes, data, version from changes "
               "where workspace_id = %s order by seq", workspace_id)


def invite(api, workspace_id: str, role: str = "member", hours: int = 24) -> dict:
    response = api.post(f"/workspaces/{workspace_id}/invitations",
                        json={"role": role, "expires_in_hours": hours})
    assert response.status_code == 201, response.text
    return response.json()


def roles(api, workspace_id: str) -> dict[str, str]:
    return {m["username"]: m["role"] for m in api.ok("GET", f"/workspaces/{workspace_id}/members")}


# --- workspaces -----------------------------------------------------------------------------


def test_create_list_get_patch_delete(make_api, database_url):
    alice, bob = make_api(), make_api()
    created = alice.post("/workspaces", json={"name": "  Acme  "})
    assert created.status_code == 201, created.text
    ws = created.json()
    assert ws["name"] == "Acme" and ws["role"] == "owner" and ws["version"] == 1 and ws["seq"] == 2

    listed = alice.ok("GET", "/workspaces")
    assert [(w["id"], w["role"]) for w in listed] == [(ws["id"], "owner")]
    assert bob.ok("GET", "/workspaces") == []
    assert alice.ok("GET", f"/workspaces/{ws['id']}")["name"] == "Acme"
    assert roles(alice, ws["id"]) == {alice.username: "owner"}

    patched = alice.ok("PATCH", f"/workspaces/{ws['id']}", json={"name": "Acme Inc"})
    assert patched["name"] == "Acme Inc" and patched["version"] == 2 and patched["seq"] == 3
    assert alice.ok("PATCH", f"/workspaces/{ws['id']}", json={})["version"] == 2

    rows = changes(database_url, ws["id"])
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, "workspace", "create"), (2, "member", "create"), (3, "workspace", "update")]
    assert rows[2][3] == {"name": {"old": "Acme", "new": "Acme Inc"}}
    assert rows[2][4]["name"] == "Acme Inc" and rows[2][4]["version"] == 2 and "role" not in rows[2][4]
    assert rows[1][4]["username"] == alice.username and rows[1][4]["role"] == "owner"

    deleted = alice.delete(f"/workspaces/{ws['id']}")
    assert deleted.status_code == 204, deleted.text
    assert [r[2] for r in changes(database_url, ws["id"])][-1] == "delete"
    for response in (alice.get(f"/workspaces/{ws['id']}"), alice.get(f"/workspaces/{ws['id']}/members"),
                     alice.get(f"/workspaces/{ws['id']}/boards"),
                     alice.patch(f"/workspaces/{ws['id']}", json={"name": "x"}),
                     alice.delete(f"/workspaces/{ws['id']}"),
                     alice.post(f"/workspaces/{ws['id']}/boards", json={"name": "B", "key": "BB"})):
        problem(response, 404, "not_found")
    assert alice.ok("GET", "/workspaces") == []


def test_client_chosen_id_and_duplicate(api):
    workspace_id = str(uuid.uuid4())
    assert api.ok("POST", "/workspaces", json={"id": workspace_id, "name": "Mine"})["id"] == workspace_id
    problem(api.post("/workspaces", json={"id": workspace_id, "name": "Again"}), 409, "duplicate")


def test_changes_have_consecutive_seqs(api, database_url):
    ws = api.workspace("Feed")
    api.ok("PATCH", f"/workspaces/{ws['id']}", json={"name": "Feed 2"})
    api.board(ws["id"], "FEED")
    seqs = [r[0] for r in changes(database_url, ws["id"])]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 2 + 1 + 6
    assert sql(database_url, "select seq from workspaces where id = %s", ws["id"]) == [(len(seqs),)]
    assert api.ok("GET", f"/workspaces/{ws['id']}")["seq"] == len(seqs)


def test_idempotency_key_replays_create(api, database_url):
    headers = {"Idempotency-Key": f"mut-{uuid.uuid4()}"}
    first = api.post("/workspaces", json={"name": "Once"}, headers=headers)
    second = api.post("/workspaces", json={"name": "Once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert [w["name"] for w in api.ok("GET", "/workspaces")] == ["Once"]
    assert len(changes(database_url, first.json()["id"])) == 2
    problem(api.post("/workspaces", json={"name": "Other"}, headers=headers), 409,
            "idempotency_key_reused")


def test_bad_bodies_are_problems(api):
    problem(api.post("/workspaces", content=b'{"name": ', headers={"content-type": "application/json"}),
            400)
    problem(api.post("/workspaces", json={"name": "x" * 101}), 400, "validation_error")
    problem(api.post("/workspaces", json={"name": "   "}), 400, "validation_error")
    problem(api.post("/workspaces", json={"name": "ok", "colour": "red"}), 400, "validation_error")
    problem(api.post("/workspaces", json={"name": "ok", "id": "nope"}), 400, "validation_error")
    ws = api.workspace()
    problem(api.post(f"/workspaces/{ws['id']}/invitations", json={"role": "emperor"}), 400,
            "validation_error")
    problem(api.post(f"/workspaces/{ws['id']}/invitations", json={"expires_in_hours": 0}), 400,
            "validation_error")
    problem(api.patch(f"/workspaces/{ws['id']}/members/{api.username}", json={"role": "god"}), 400,
            "validation_error")


def test_malformed_ids_are_4xx(api):
    for response in (api.get("/workspaces/not-a-uuid"), api.patch("/workspaces/123", json={"name": "x"}),
                     api.delete("/workspaces/zz"), api.get("/workspaces/zz/members"),
                     api.post("/workspaces/zz/invitations", json={})):
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_unauthenticated_is_401(server):
    import httpx

    response = httpx.get(f"{server.url}/api/v1/workspaces")
    problem(response, 401, "unauthenticated")


# --- invitations ----------------------------------------------------------------------------


def test_invitation_accept_applies_role_and_is_single_use(make_api, database_url):
    owner, bob, carol = make_api(), make_api(), make_api()
    ws = owner.workspace("Team")
    invitation = invite(owner, ws["id"], "admin", hours=2)
    assert invitation["token"].startswith("inv_") and invitation["role"] == "admin"
    assert invitation["workspace_id"] == ws["id"]
    stored = sql(database_url, "select token_hash, role from invitations where workspace_id = %s", ws["id"])
    assert stored == [(hashlib.sha256(invitation["token"].encode()).hexdigest(), "admin")]

    joined_ws = bob.ok("POST", f"/invitations/{invitation['token']}/accept")
    assert joined_ws["id"] == ws["id"] and joined_ws["role"] == "admin"
    assert [w["role"] for w in bob.ok("GET", "/workspaces")] == ["admin"]
    assert roles(owner, ws["id"]) == {owner.username: "owner", bob.username: "admin"}
    # the same person again: harmless; anyone else: gone
    assert bob.ok("POST", f"/invitations/{invitation['token']}/accept")["role"] == "admin"
    problem(carol.post(f"/invitations/{invitation['token']}/accept"), 410, "gone")
    problem(carol.post("/invitations/inv_doesnotexist/accept"), 404, "not_found")
    rows = changes(database_url, ws["id"])
    assert [(r[1], r[2]) for r in rows][-1] == ("member", "create")
    assert rows[-1][4]["username"] == bob.username and rows[-1][4]["role"] == "admin"
    assert len([r for r in rows if r[1] == "member"]) == 2


def test_expired_invitation_is_gone(make_api, database_url):
    owner, bob = make_api(), make_api()
    ws = owner.workspace()
    token = invite(owner, ws["id"])["token"]
    sql(database_url, "update invitations set expires_at = now() - interval '1 minute' "
        "where token_hash = %s", hashlib.sha256(token.encode()).hexdigest())
    problem(bob.post(f"/invitations/{token}/accept"), 410, "gone")
    problem(bob.get(f"/workspaces/{ws['id']}"), 404)


def test_existing_member_keeps_the_higher_role(make_api):
    owner, bob = make_api(), make_api()
    ws = owner.workspace()
    join(owner, bob, ws["id"], "admin")
    assert join(owner, bob, ws["id"], "viewer")["role"] == "admin"
    assert join(owner, bob, ws["id"], "owner")["role"] == "owner"
    assert roles(owner, ws["id"])[bob.username] == "owner"


def test_only_owners_invite_owners(make_api):
    owner, admin, member = make_api(), make_api(), make_api()
    ws = owner.workspace()
    join(owner, admin, ws["id"], "admin")
    join(owner, member, ws["id"], "member")
    problem(admin.post(f"/workspaces/{ws['id']}/invitations", json={"role": "owner"}), 403, "forbidden")
    assert invite(admin, ws["id"], "admin")["role"] == "admin"
    problem(member.post(f"/workspaces/{ws['id']}/invitations", json={}), 403, "forbidden")


# --- members --------------------------------------------------------------------------------


def test_member_roles_and_last_owner(make_api, database_url):
    owner, bob, carol = make_api(), make_api(), make_api()
    ws = owner.workspace()
    join(owner, bob, ws["id"], "admin")
    join(owner, carol, ws["id"], "member")
    path = f"/workspaces/{ws['id']}/members"

    updated = bob.ok("PATCH", f"{path}/{carol.username.upper()}", json={"role": "viewer"})
    assert updated["role"] == "viewer" and updated["username"] == carol.username
    rows = changes(database_url, ws["id"])
    assert (rows[-1][1], rows[-1][2], rows[-1][3]) == ("member", "update",
                                                         {"role": {"old": "member", "new": "viewer"}})
    # admins cannot touch ownership
    problem(bob.patch(f"{path}/{carol.user['id']}", json={"role": "owner"}), 403, "forbidden")
    problem(bob.patch(f"{path}/{owner.username}", json={"role": "member"}), 403, "forbidden")
    problem(bob.delete(f"{path}/{owner.username}"), 403, "forbidden")
    # the last owner stays
    problem(owner.patch(f"{path}/{owner.username}", json={"role": "admin"}), 409, "last_owner")
    problem(owner.delete(f"{path}/{owner.username}"), 409, "last_owner")
    # a second owner makes it possible
    assert owner.ok("PATCH", f"{path}/{bob.user['id']}", json={"role": "owner"})["role"] == "owner"
    assert owner.ok("PATCH", f"{path}/{owner.username}", json={"role": "admin"})["role"] == "admin"
    problem(bob.patch(f"{path}/{bob.username}", json={"role": "viewer"}), 409, "last_owner")
    assert roles(bob, ws["id"]) == {owner.username: "admin", bob.username: "owner",
                                    carol.username: "viewer"}
    problem(bob.patch(f"{path}/nobody-here", json={"role": "member"}), 404, "not_found")
    problem(bob.patch(f"{path}/{uuid.uuid4()}", json={"role": "member"}), 404, "not_found")


def test_two_owners_demoting_each_other_at_once_keep_one(make_api):
    """The last-owner rule holds under concurrency: the checks run under the workspace row lock,
    so of two owners demoting (or removing) each other at the same moment exactly one succeeds."""
    from concurrent.futures import ThreadPoolExecutor

    for attempt in range(4):
        alice, bob = make_api(), make_api()
        ws = alice.workspace()
        join(alice, bob, ws["id"], "owner")
        path = f"/workspaces/{ws['id']}/members"
        if attempt % 2:
            calls = [(alice.delete, f"{path}/{bob.username}", None), (bob.delete, f"{path}/{alice.username}", None)]
        else:
            calls = [(alice.patch, f"{path}/{bob.username}", {"role": "admin"}),
                     (bob.patch, f"{path}/{alice.username}", {"role": "admin"})]
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(send, url, **({"json": body} if body else {})) for send, url, body in calls]
            answers = [future.result() for future in futures]
        statuses = sorted(answer.status_code for answer in answers)
        # exactly one wins; the loser is refused as the last owner, or — coming second — is no
        # longer an owner (403 on a demotion) or no longer a member at all (404 on a removal)
        won, lost = (204, 404) if attempt % 2 else (200, 403)
        assert statuses in ([won, 409], [won, lost]), [a.text for a in answers]
        loser = next(a for a in answers if a.status_code >= 400).json()["code"]
        assert loser == {409: "last_owner", 403: "forbidden", 404: "not_found"}[statuses[1]]
        left = [m for m in alice.ok("GET", path) if m["role"] == "owner"] if attempt % 2 == 0 else None
        assert left is None or len(left) == 1


def test_removal_and_leaving(make_api, database_url):
    owner, bob, carol, dave = make_api(), make_api(), make_api(), make_api()
    ws = owner.workspace()
    join(owner, bob, ws["id"], "admin")
    join(owner, carol, ws["id"], "viewer")
    join(owner, dave, ws["id"], "member")
    path = f"/workspaces/{ws['id']}/members"

    problem(carol.delete(f"{path}/{dave.username}"), 403, "forbidden")
    assert bob.delete(f"{path}/{dave.username}").status_code == 204
    rows = changes(database_url, ws["id"])
    assert (rows[-1][1], rows[-1][2], rows[-1][4]) == ("member", "delete", None)
    for response in (dave.get(f"/workspaces/{ws['id']}"), dave.get(f"{path}"),
                     dave.get(f"/workspaces/{ws['id']}/boards")):
        problem(response, 404, "not_found")
    assert dave.ok("GET", "/workspaces") == []

    assert carol.delete(f"{path}/{carol.user['id']}").status_code == 204  # a viewer may leave
    problem(carol.get(f"/workspaces/{ws['id']}"), 404)
    problem(bob.delete(f"{path}/{carol.username}"), 404, "not_found")
    assert set(roles(owner, ws["id"])) == {owner.username, bob.username}


def test_viewer_cannot_write(make_api):
    owner, viewer = make_api(), make_api()
    ws = owner.workspace()
    join(owner, viewer, ws["id"], "viewer")
    path = f"/workspaces/{ws['id']}"
    assert viewer.ok("GET", path)["role"] == "viewer"
    assert len(viewer.ok("GET", f"{path}/members")) == 2
    for response in (viewer.patch(path, json={"name": "x"}), viewer.delete(path),
                     viewer.post(f"{path}/invitations", json={}),
                     viewer.patch(f"{path}/members/{owner.username}", json={"role": "viewer"}),
                     viewer.delete(f"{path}/members/{owner.username}")):
        problem(response, 403, "forbidden")


def test_admin_cannot_delete_workspace(make_api):
    owner, admin = make_api(), make_api()
    ws = owner.workspace()
    join(owner, admin, ws["id"], "admin")
    problem(admin.delete(f"/workspaces/{ws['id']}"), 403, "forbidden")
    assert admin.ok("PATCH", f"/workspaces/{ws['id']}", json={"name": "Renamed"})["role"] == "admin"


@pytest.mark.parametrize("method, suffix, body", [
    ("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None),
    ("GET", "/members", None), ("PATCH", "/members/{owner}", {"role": "viewer"}),
    ("DELETE", "/members/{owner}", None), ("POST", "/invitations", {}),
])
def test_non_member_gets_404(make_api, method, suffix, body):
    owner, stranger = make_api(), make_api()
    ws = owner.workspace()
    path = f"/workspaces/{ws['id']}" + suffix.format(owner=owner.username)
    problem(stranger.request(method, path, json=body), 404, "not_found")
    problem(stranger.request(method, f"/workspaces/{uuid.uuid4()}" + suffix.format(owner="x"), json=body),
            404, "not_found")
