"""The public demo keys: their ids, and the warning when one is trusted outside a demo.

The demo key pairs ship with every copy of bmsflasher (``resources/demo/demo-key*.pem``) and
their private halves are public, so a keyring that trusts one accepts firmware from anyone. They
are recognised by key id (SHA-256 of the DER public key), not by file name or location: a copy
renamed ``acme.pub.pem`` in the keyring folder is still the demo key, and the check holds where
the demo resources are not installed. ``tests/unit/test_trust_demo_key.py`` pins these ids to the
shipped files.
"""

from __future__ import annotations

from typing import Final

from bmsflasher.core.i18n import t

DEMO_KEY_IDS: Final = frozenset(
    {
        "b15e1b6cd29c2e1f3c33a5cc2c99339a6dc940da0a3a5a38fcc2419a44b7baf0",  # demo-key.pub.pem (P-256)
        "4732c98940f94d2d9380f93e050594ab78029b3dfd0ed4067b2d09396b2703d6",  # demo-key-ed25519.pub.pem
    }
)
DEMO_ROOT_KEY_IDS: Final = frozenset(
    {
        "ed1bcf77c55511f4a995c54188471cf3658ca2092d7ce0373e4a11c40c71cd5e",  # ca/demo-root.crt's key
    }
)
"""The public demo CA's root key (``resources/demo/ca``): a root certificate with it vouches for anyone."""
KEY_ID_DISPLAY_CHARS: Final = 16
"""Key ids are shown by their first 16 hex digits (64 bits), as ``verify`` prints them."""


def is_demo_key(key_id_hex: str) -> bool:
    """True for the key id of one of bmsflasher's public demo keys."""
    return key_id_hex.lower() in DEMO_KEY_IDS


def is_demo_root(key_id_hex: str) -> bool:
    """True for the key id of the public demo CA's root certificate key."""
    return key_id_hex.lower() in DEMO_ROOT_KEY_IDS


def demo_root_warning(subject: str, source: str) -> str:
    """The one-sentence warning for the demo root certificate trusted outside demo mode."""
    return t(
        "{source} is bmsflasher's public demo root certificate ({subject}): anyone can issue a signer "
        "certificate under it, so trust it only for a demo, never for a real battery.",
        source=source,
        subject=subject,
    )


def demo_key_warning(key_id_hex: str, source: str) -> str:
    """The one-sentence warning for a demo key trusted outside demo mode."""
    return t(
        "{source} is bmsflasher's public demo key {key_id}: anyone can sign firmware with it, so trust "
        "it only for a demo, never for a real battery.",
        source=source,
        key_id=key_id_hex[:KEY_ID_DISPLAY_CHARS],
    )
