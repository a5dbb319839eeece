"""DingTalk's event callback encryption (钉钉回调加解密).

The callback body is ``{"encrypt": <base64>}`` and the query string carries ``signature`` (or
``msg_signature``), ``timestamp`` (milliseconds) and ``nonce``:

- signature = SHA-1 of the concatenation of token, timestamp, nonce and encrypt, sorted;
- the AES key is the 43 characters of the app's "aes_key" plus "=" decoded from base64
  (32 bytes); AES-256-CBC with the first 16 bytes of the key as IV;
- plain text = 16 random bytes + message length (4 bytes, big endian) + message + owner key
  (the app key of an internal app, the corp id or suite key otherwise), PKCS#7 padded to 32;
- the reply to every event is the word ``success`` encrypted the same way, with its own
  timestamp, nonce and signature.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CallbackError(Exception):
    """The callback is refused: bad signature, owner key, timestamp or cipher text."""


def aes_key_valid(aes_key):
    if not aes_key or len(aes_key) != 43:
        return False
    try:
        return len(base64.b64decode(aes_key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


class DingTalkCrypto:
    def __init__(self, token, aes_key, owner_key):
        if not aes_key_valid(aes_key):
            raise CallbackError("the AES key must be 43 characters of base64")
        self.token = token or ""
        self.key = base64.b64decode(aes_key + "=")
        self.owner_key = owner_key or ""

    def signature(self, timestamp, nonce, encrypt):
        parts = sorted([self.token, str(timestamp), str(nonce), encrypt])
        return hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (DingTalk's scheme)

    def check_signature(self, signature, timestamp, nonce, encrypt):
        expected = self.signature(timestamp, nonce, encrypt)
        if not signature or not hmac.compare_digest(expected, str(signature)):
            raise CallbackError("bad signature")

    def _cipher(self):
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, text, random16=None):
        message = text.encode()
        raw = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message
        raw += self.owner_key.encode()
        pad = BLOCK - len(raw) % BLOCK
        raw += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()

    def decrypt(self, encrypt):
        """The message, after checking the padding and the owner key."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError, TypeError) as error:
            raise CallbackError("cipher text is not base64") from error
        if not data or len(data) % 16:
            raise CallbackError("cipher text has a wrong length")
        decryptor = self._cipher().decryptor()
        raw = decryptor.update(data) + decryptor.finalize()
        pad = raw[-1]
        if not 1 <= pad <= BLOCK or raw[-pad:] != bytes([pad]) * pad:
            raise CallbackError("bad padding")
        raw = raw[:-pad]
        if len(raw) < 20:
            raise CallbackError("cipher text too short")
        (length,) = struct.unpack(">I", raw[16:20])
        message, owner = raw[20 : 20 + length], raw[20 + length :]
        if len(message) != length:
            raise CallbackError("bad message length")
        if not hmac.compare_digest(owner, self.owner_key.encode()):
            raise CallbackError("wrong owner key")
        return message.decode()

    def reply(self, text, timestamp, nonce):
        encrypt = self.encrypt(text)
        return {
            "msg_signature": self.signature(timestamp, nonce, encrypt),
            "timeStamp": str(timestamp),
            "nonce": nonce,
            "encrypt": encrypt,
        }
