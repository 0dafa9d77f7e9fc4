"""The parts a gateway app holds, by typed key (aiohttp AppKey): one place, no import cycles."""

from __future__ import annotations

from aiohttp import web

from gateway.http.limits import RateLimiter
from gateway.publisher import Publisher
from gateway.stores.accepted import AcceptedLog
from gateway.stores.media import MediaStore
from gateway.stores.replies import Replies
from gateway.stores.warehouse import WarehouseReader
from pakn.directory_topic import DirectoryFollower
from pakn.privacy import Privacy
from pakn.sender_keys import SenderKeyStore
from pakn.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
PUBLISHER = web.AppKey("publisher", Publisher)
REPLIES = web.AppKey("replies", Replies)
MEDIA = web.AppKey("media", MediaStore)
READER = web.AppKey("reader", WarehouseReader)
PRIVACY = web.AppKey("privacy", Privacy)
CLIENT_LIMITS = web.AppKey("client_limits", RateLimiter)
SENDER_LIMITS = web.AppKey("sender_limits", RateLimiter)
SENDER_KEY_STORE = web.AppKey("sender_key_store", SenderKeyStore)
SEALED = web.AppKey(
    "sealed_reader", object
)  # gateway.stores.sealing.SealedReader (no import cycle)
UNITS = web.AppKey("units_directory", DirectoryFollower)
ACCEPTED = web.AppKey("accepted", AcceptedLog)  # read-your-write of submissions
API_CLIENT_LIMITS = web.AppKey("api_client_limits", RateLimiter)  # Open311 keys, token subjects
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)
