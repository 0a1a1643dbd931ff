-- taskly_rank_midpoint: a base-62 fraction strictly between two (b NULL: no upper bound).
-- Mirrors fractional_indexing 0.1.3's `midpoint` with BASE_62_DIGITS.
-- Held to it by tests/server/test_card_move_statement.py.
CREATE OR REPLACE FUNCTION taskly_rank_midpoint(a text, b text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    padded text;
    n int := 0;
    digit_a int;
    digit_b int;
BEGIN
    IF b IS NOT NULL AND a COLLATE "C" >= b COLLATE "C" THEN
        RAISE EXCEPTION '% >= %', a, b;
    END IF;
    IF right(a, 1) = '0' OR right(b, 1) = '0' THEN RAISE EXCEPTION 'trailing zero'; END IF;
    IF b <> '' THEN
        padded := rpad(a, length(b), '0');
        WHILE n < length(b) AND substr(padded, n + 1, 1) = substr(b, n + 1, 1) LOOP
            n := n + 1;
        END LOOP;
        IF n > 0 THEN
            RETURN left(b, n) || taskly_rank_midpoint(substr(a, n + 1), substr(b, n + 1));
        END IF;
    END IF;
    digit_a := CASE WHEN a = '' THEN 0 ELSE strpos(digits, left(a, 1)) - 1 END;
    digit_b := CASE WHEN b IS NULL THEN length(digits) ELSE strpos(digits, left(b, 1)) - 1 END;
    IF digit_b - digit_a > 1 THEN
        RETURN substr(digits, (digit_a + digit_b + 1) / 2 + 1, 1);  -- round half up
    END IF;
    IF b IS NOT NULL AND length(b) > 1 THEN
        RETURN left(b, 1);
    END IF;
    RETURN substr(digits, digit_a + 1, 1) || taskly_rank_midpoint(substr(a, 2), NULL);
END $$;
