-- taskly_rank_increment: the next integer part of a fractional-index key (NULL past the last).
-- Mirrors fractional_indexing 0.1.3's `increment_integer` with BASE_62_DIGITS.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_increment(x text) RETURNS text
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
        d := strpos(digits, substr(digs, i, 1));  -- the next digit's position, 1-based
        IF d < length(digits) THEN
            RETURN head || overlay(digs PLACING substr(digits, d + 1, 1) FROM i FOR 1);
        END IF;
        digs := overlay(digs PLACING '0' FROM i FOR 1);
    END LOOP;
    IF head = 'Z' THEN RETURN 'a0'; END IF;
    IF head = 'z' THEN RETURN NULL; END IF;
    head := chr(ascii(head) + 1);
    IF ascii(head) > 97 THEN
        RETURN head || digs || '0';
    END IF;
    RETURN head || left(digs, length(digs) - 1);
END $$;
