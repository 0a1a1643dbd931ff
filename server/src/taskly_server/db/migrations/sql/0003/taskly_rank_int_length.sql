-- taskly_rank_int_length: a fractional-index key's integer-part length, from its head letter.
-- Mirrors fractional_indexing 0.1.3's `get_integer_length`.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_int_length(head text) RETURNS int
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    IF ascii(head) BETWEEN 97 AND 122 THEN RETURN ascii(head) - 97 + 2; END IF;  -- a..z
    IF ascii(head) BETWEEN 65 AND 90 THEN RETURN 90 - ascii(head) + 2; END IF;   -- A..Z
    RAISE EXCEPTION 'invalid order key head: %', head;
END $$;
