-- taskly_rank_key_between: a new fractional-index key between two (NULL: unbounded that side).
-- Mirrors fractional_indexing 0.1.3's `generate_key_between` (base 62).
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_key_between(a text, b text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    ia text;
    ib text;
    i text;
BEGIN
    IF a IS NOT NULL THEN PERFORM taskly_rank_validate(a); END IF;
    IF b IS NOT NULL THEN PERFORM taskly_rank_validate(b); END IF;
    IF a COLLATE "C" >= b COLLATE "C" THEN RAISE EXCEPTION '% >= %', a, b; END IF;
    IF a IS NULL THEN
        IF b IS NULL THEN RETURN 'a0'; END IF;
        ib := taskly_rank_int_part(b);
        IF ib = 'A' || repeat('0', 26) THEN
            RETURN ib || taskly_rank_midpoint('', substr(b, length(ib) + 1));
        END IF;
        IF ib COLLATE "C" < b COLLATE "C" THEN RETURN ib; END IF;
        i := taskly_rank_decrement(ib);
        IF i IS NULL THEN RAISE EXCEPTION 'cannot decrement any more'; END IF;
        RETURN i;
    END IF;
    ia := taskly_rank_int_part(a);
    IF b IS NULL THEN
        i := taskly_rank_increment(ia);
        RETURN coalesce(i, ia || taskly_rank_midpoint(substr(a, length(ia) + 1), NULL));
    END IF;
    ib := taskly_rank_int_part(b);
    IF ia = ib THEN
        RETURN ia || taskly_rank_midpoint(substr(a, length(ia) + 1), substr(b, length(ib) + 1));
    END IF;
    i := taskly_rank_increment(ia);
    IF i IS NULL THEN RAISE EXCEPTION 'cannot increment any more'; END IF;
    IF i COLLATE "C" < b COLLATE "C" THEN RETURN i; END IF;
    RETURN ia || taskly_rank_midpoint(substr(a, length(ia) + 1), NULL);
END $$;
