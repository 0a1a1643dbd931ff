"""Invitations end when they should: revoked with their creator's removal or demotion, checked
against the creator's current role at acceptance, listed (never their tokens) and revoked by admins."""

from __future__ import annotations

import hashlib
import uuid

from tests.support.checks import join, problem, sql


def invite(api, workspace_id: str, role: str = "member") -> dict:
    return api.ok("POST", f"/workspaces/{workspace_id}/invitations", json={"role": role})


def revoked_at(database_url: str, token: str):
    return sql(database_url, "select revoked_at from invitations where token_hash = %s",
               hashlib.sha256(token.encode()).hexdigest())[0][0]


def open_ids(api, workspace_id: str) -> list[str]:
    return [i["id"] for i in api.ok("GET", f"/workspaces/{workspace_id}/invitations")]


def test_a_removed_admin_cannot_come_back_through_their_own_invitation(make_api, database_url):
    owner, admin, carol = make_api(), make_api(), make_api()
    ws = owner.workspace()["id"]
    join(owner, admin, ws, "admin")
    for_self = invite(admin, ws, "admin")
    for_carol = invite(admin, ws, "viewer")
    by_owner = invite(owner, ws, "member")

    assert owner.delete(f"/workspaces/{ws}/members/{admin.username}").status_code == 204
    assert revoked_at(database_url, for_self["token"]) is not None
    assert revoked_at(database_url, for_carol["token"]) is not None
    assert revoked_at(database_url, by_owner["token"]) is None
    body = problem(admin.post(f"/invitations/{for_self['token']}/accept"), 410, "gone")
    assert "revoked" in body["detail"]
    problem(carol.post(f"/invitations/{for_carol['token']}/accept"), 410, "gone")
    problem(admin.get(f"/workspaces/{ws}"), 404, "not_found")
    assert open_ids(owner, ws) == [by_owner["id"]]


def test_a_demotion_revokes_what_the_new_role_cannot_grant(make_api, database_url):
    owner, co_owner, someone = make_api(), make_api(), make_api()
    ws = owner.workspace()["id"]
    join(owner, co_owner, ws, "owner")
    as_owner = invite(co_owner, ws, "owner")
    as_admin = invite(co_owner, ws, "admin")
    members = f"/workspaces/{ws}/members/{co_owner.username}"

    owner.ok("PATCH", members, json={"role": "admin"})  # an admin may still invite admins
    assert revoked_at(database_url, as_owner["token"]) is not None
    assert open_ids(owner, ws) == [as_admin["id"]]
    problem(someone.post(f"/invitations/{as_owner['token']}/accept"), 410, "gone")

    owner.ok("PATCH", members, json={"role": "member"})  # a member invites nobody
    assert open_ids(owner, ws) == []
    problem(someone.post(f"/invitations/{as_admin['token']}/accept"), 410, "gone")
    problem(someone.get(f"/workspaces/{ws}"), 404, "not_found")


def test_acceptance_checks_the_creators_current_role(make_api, database_url):
    """An invitation whose creator lost the role by any path (here: straight SQL, as before this
    check existed) grants nothing."""
    owner, admin, carol = make_api(), make_api(), make_api()
    ws = owner.workspace()["id"]
    join(owner, admin, ws, "admin")
    token = invite(admin, ws, "member")["token"]
    sql(database_url, "update members set role = 'member' where workspace_id = %s and user_id = %s",
        ws, admin.user["id"])
    body = problem(carol.post(f"/invitations/{token}/accept"), 410, "gone")
    assert "can no longer grant the member role" in body["detail"]
    problem(carol.get(f"/workspaces/{ws}"), 404, "not_found")
    # given the role back, the invitation works again: it was refused, not spent
    sql(database_url, "update members set role = 'admin' where workspace_id = %s and user_id = %s",
        ws, admin.user["id"])
    assert carol.ok("POST", f"/invitations/{token}/accept")["role"] == "member"


def test_admins_list_open_invitations_without_their_tokens(make_api, database_url):
    owner, admin, member, outsider, carol = (make_api() for _ in range(5))
    ws = owner.workspace()["id"]
    join(owner, admin, ws, "admin")
    join(owner, member, ws, "member")
    first = invite(owner, ws, "viewer")
    second = invite(admin, ws, "admin")
    used = invite(owner, ws, "member")
    carol.ok("POST", f"/invitations/{used['token']}/accept")
    expired = invite(owner, ws, "member")
    sql(database_url, "update invitations set expires_at = now() - interval '1 minute' where id = %s",
        expired["id"])

    response = admin.get(f"/workspaces/{ws}/invitations")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [(i["id"], i["role"], i["created_by_username"]) for i in listed] == [
        (first["id"], "viewer", owner.username), (second["id"], "admin", admin.username)]
    assert listed[1]["created_by"] == admin.user["id"] and listed[1]["workspace_id"] == ws
    assert listed[1]["expires_at"] and listed[1]["created_at"]
    assert not {"token", "token_hash"} & set(listed[0])
    assert first["token"] not in response.text and second["token"] not in response.text
    problem(member.get(f"/workspaces/{ws}/invitations"), 403, "forbidden")
    problem(outsider.get(f"/workspaces/{ws}/invitations"), 404, "not_found")


def test_admins_revoke_an_invitation(make_api, database_url):
    owner, admin, member, outsider, carol = (make_api() for _ in range(5))
    ws = owner.workspace()["id"]
    join(owner, admin, ws, "admin")
    join(owner, member, ws, "member")
    invitation = invite(owner, ws, "member")

    problem(outsider.delete(f"/invitations/{invitation['id']}"), 404, "not_found")
    problem(outsider.delete(f"/invitations/{uuid.uuid4()}"), 404, "not_found")
    problem(member.delete(f"/invitations/{invitation['id']}"), 403, "forbidden")
    assert admin.delete(f"/invitations/{invitation['id']}").status_code == 204
    assert admin.delete(f"/invitations/{invitation['id']}").status_code == 204  # again: no-op
    assert open_ids(owner, ws) == []
    body = problem(carol.post(f"/invitations/{invitation['token']}/accept"), 410, "gone")
    assert body["detail"] == "this invitation was revoked"

    used = invite(owner, ws, "viewer")
    carol.ok("POST", f"/invitations/{used['token']}/accept")
    problem(admin.delete(f"/invitations/{used['id']}"), 409, "conflict")
