-- taskly_rank_decrement: the previous integer part of a fractional-index key (NULL before the
-- first). Mirrors fractional_indexing 0.1.3's `decrement_integer` with BASE_62_DIGITS.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_decrement(x text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    head text := left(x, 1);
    digs text := substr(x, 2);
    d int;
BEGIN
    IF length(x) <> taskly_rank_int_length(head) THEN
        RAISE EXCEPTION 'invalid integer part of order key: %', x;
    END IF;
    FOR i IN REVERSE length(digs)..1 LOOP
        d := strpos(digits, substr(digs, i, 1)) - 1;  -- this digit's value
        IF d > 0 THEN
            RETURN head || overlay(digs PLACING substr(digits, d, 1) FROM i FOR 1);
        END IF;
        digs := overlay(digs PLACING right(digits, 1) FROM i FOR 1);
    END LOOP;
    IF head = 'a' THEN RETURN 'Z' || right(digits, 1); END IF;
    IF head = 'A' THEN RETURN NULL; END IF;
    head := chr(ascii(head) - 1);
    IF ascii(head) < 90 THEN
        RETURN head || digs || right(digits, 1);
    END IF;
    RETURN head || left(digs, length(digs) - 1);
END $$;
