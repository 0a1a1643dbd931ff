-- taskly_rank_between: a card's rank between its neighbours, keeping the current rank when it
-- already fits. Mirrors the cards domain's `rank_between`.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_between(lower_rank text, upper_rank text, current_rank text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN current_rank IS NOT NULL
             AND (lower_rank IS NULL OR lower_rank COLLATE "C" < current_rank COLLATE "C")
             AND (upper_rank IS NULL OR current_rank COLLATE "C" < upper_rank COLLATE "C")
        THEN current_rank
        ELSE taskly_rank_key_between(lower_rank, upper_rank)
    END
$$;
