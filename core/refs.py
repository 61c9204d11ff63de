"""Short human references for orders and tickets: 8 characters anyone can read out at a door.

The alphabet leaves out 0/O, 1/I/L, so a reference read aloud or off a crumpled print-out
cannot be mistaken. References are made by the database (a BEFORE INSERT trigger defined in
ticketing's migrations), so the ORM, the single-statement fast path and bulk loads all share
one definition; this module only knows what one looks like, to validate and find them.
"""

import re

REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REF_LENGTH = 8
REF_PREFIX_MIN = 4  # one group of `ref_display`
# The same pattern the database's CHECK constraints hold every stored reference to.
REF_PATTERN = r"^[2-9A-HJKMNP-Z]{8}$"
_SEPARATORS = re.compile(r"[\s\-_.]")


def ref_normalise(text: str) -> str:
    """A typed reference as stored: upper case, without the spaces or dashes people add."""
    return _SEPARATORS.sub("", text or "").upper()


def looks_like_ref(text: str) -> bool:
    """Whether `text` (as typed) could be a reference, so a search can try the exact match."""
    return re.fullmatch(REF_PATTERN, ref_normalise(text)) is not None


def could_begin_a_ref(text: str) -> bool:
    """Whether `text` (as typed) could be the first four or more characters of a reference,
    as someone reads the first group off a confirmation."""
    typed = ref_normalise(text)
    return REF_PREFIX_MIN <= len(typed) <= REF_LENGTH and set(typed) <= set(REF_ALPHABET)


def ref_display(ref: str) -> str:
    """A reference in two groups of four, easier to read out: `K7QM 3XPA`."""
    return f"{ref[:4]} {ref[4:]}" if len(ref) == REF_LENGTH else ref
