-- taskly_pull_request_json: a linked pull request in its wire form. Mirrors the pulls domain's
-- `pull_request_out`, dumped with model_dump(mode="json").
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_pull_request_json(p pull_requests, full_name text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'repository', full_name, 'number', p.number, 'title', p.title,
        'state', p.state, 'url', p.url, 'author', p.author, 'head_branch', p.head_branch,
        'base_branch', p.base_branch, 'head_sha', p.head_sha, 'commit_count', p.commit_count,
        'draft', p.state = 'draft', 'mergeable', p.mergeable, 'mergeable_state', p.mergeable_state,
        'additions', p.additions, 'deletions', p.deletions,
        'ci', p.ci_status,
        'checks', CASE WHEN coalesce(p.head_sha, '') <> '' AND p.checks ->> 'sha' = p.head_sha THEN
            (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'name', c -> 'name', 'kind', c -> 'kind', 'state', c -> 'state',
                        'url', c -> 'url',
                        'at', taskly_json_time((c ->> 'at')::timestamptz)) ORDER BY n), '[]')
               FROM jsonb_array_elements(CASE jsonb_typeof(p.checks -> 'checks')
                                         WHEN 'array' THEN p.checks -> 'checks' END)
                    WITH ORDINALITY AS checks(c, n))
            ELSE '[]' END,
        'approvals', p.approvals, 'changes_requested', p.changes_requested,
        'merged_at', taskly_json_time(p.merged_at),
        'updated_at', taskly_json_time(p.github_updated_at))
$$;
