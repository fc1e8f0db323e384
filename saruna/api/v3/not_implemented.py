"""LiveAgent v3 paths Saruna does not implement (API Appendix A): each answers 501 with
``{"message": "Not implemented: <METHOD> <path>"}`` after authentication, so an invalid key
still gets 401. Registered before every other resource so no ``/{id}`` route swallows one;
left out of the OpenAPI document, which describes what works."""

from __future__ import annotations

import warnings
from typing import Any

from django.http import HttpRequest
from ninja import Router

from saruna.api.auth import ApiError

router = Router(tags=["not implemented"])

PATHS = """
POST /call/_start
POST /call/_startCanceled
POST /call/_startFailed
GET /calls
POST /calls/_pickup
GET /calls/channels/{channelId}/call_id
GET /calls/count
POST /calls/{callId}
POST /calls/{callId}/_answer
POST /calls/{callId}/_blind_transfer
POST /calls/{callId}/_confirmRing
POST /calls/{callId}/_fetchIvr
POST /calls/{callId}/_reroute
POST /calls/{callId}/_ring
POST /calls/{callId}/_stop
POST /calls/{callId}/_stopRing
POST /calls/{callId}/_transfer
DELETE /calls/{callId}/channels/{channelId}
POST /calls/{callId}/channels/{channelId}/_dtmf
POST /calls/{callId}/channels/{channelId}/_end
POST /calls/{callId}/channels/{channelId}/_hold
POST /calls/{callId}/channels/{channelId}/_move
POST /calls/{callId}/channels/{channelId}/_mute
PUT /calls/{callId}/channels/{channelId}/_status
POST /calls/{callId}/channels/{channelId}/_unhold
POST /calls/{callId}/channels/{channelId}/_unmute
POST /calls/{callId}/messages
POST /calls/{callId}/recordings
GET /calls/{callId}/status
GET /agent_phone/{agentId}
PUT /agent_phone/{agentId}
GET /contact_phones
GET /contact_phones/{phone}
GET /phone_numbers
POST /phone_numbers
GET /phone_numbers/availablePrefix
DELETE /phone_numbers/{phoneNumberId}
GET /phone_numbers/{phoneNumberId}
PUT /phone_numbers/{phoneNumberId}
PUT /phone_numbers/{phoneNumberId}/status
GET /phones
GET /phones/{phoneId}
PUT /phones/{phoneId}/_updateParams
GET /devices
POST /devices
GET /devices/_app_
PUT /devices/departments/update
GET /devices/departments/{departmentId}
DELETE /devices/{deviceId}
GET /devices/{deviceId}
PUT /devices/{deviceId}
GET /devices/{deviceId}/departments
GET /devices/{deviceId}/departments/{departmentId}
PUT /devices/{deviceId}/departments/{departmentId}
DELETE /devices/{deviceId}/departments/{departmentId}/plans
POST /devices/{deviceId}/departments/{departmentId}/plans
GET /devices/{deviceId}/plans
GET /extensions
GET /extensions/count
GET /extensions/{extensionId}
PUT /extensions/{extensionId}
POST /sip_configuration/restore
GET /viber_accounts
POST /viber_accounts
GET /viber_accounts/count
DELETE /viber_accounts/{accountId}
GET /viber_accounts/{accountId}
PUT /viber_accounts/{accountId}
PUT /viber_accounts/{accountId}/status
GET /slack/conversation/{id}
GET /slack/conversations
GET /slack/template/{id}
PUT /slack/template/{id}
GET /slack/templates
GET /slack/user/{id}
GET /slack/users
POST /elastic/cleanDeletedData
POST /elastic/reindex
POST /elastic/reindexAll
GET /elastic/status
POST /elastic/updateTicketCheckTask
GET /grid/agents
GET /grid/agents/count
GET /grid/calls/sla
GET /grid/calls/sla/count
GET /grid/chats
GET /grid/chats/count
GET /grid/chats/sla
GET /grid/chats/sla/count
GET /grid/contact-widgets
GET /grid/contact-widgets/count
GET /grid/customer_groups
GET /grid/departments
GET /grid/departments/count
GET /grid/eventlogs
GET /grid/eventlogs/count
GET /grid/languages
GET /grid/languages/count
GET /grid/plugins
GET /grid/reports/time
GET /grid/reports/time/count
GET /grid/tags
GET /grid/tickets
GET /grid/tickets/count
GET /grid/tickets/sla
GET /grid/tickets/sla/count
GET /grid/tickets_new
GET /grid/{departmentId}/invite/agents
GET /bans
POST /bans
PUT /bans/_exclude
GET /bans/{banId}
PUT /bans/{banId}
POST /bans/{banId}/_expire
GET /custom_buttons
POST /custom_buttons
DELETE /custom_buttons/{customButtonId}
GET /custom_buttons/{customButtonId}
PUT /custom_buttons/{customButtonId}
GET /hosting/info
GET /queue/batch/{batchId}
GET /variations/{variationId}
GET /token
GET /sso
POST /sso
POST /agents/convert
POST /agents/undelete
GET /agents/{userId}/login_key
POST /agents/{userId}/updateVoiceStatus
GET /api/info/{apiVersion}
GET /api/privileges
GET /api/v3/count
POST /apikeys/_login
POST /apikeys/regenerateApiV1
POST /apikeys/regenerateApiV3/{apikeyId}
PUT /subscriptions/{subscriptionId}/custom_domain
GET /subscriptions/{subscriptionId}/discounts
GET /subscriptions/{subscriptionId}/domain
GET /settings
GET /mail_accounts
GET /mail_accounts/{mailAccountId}
PUT /departments/{departmentId}/mailAccount/{mailAccountId}
GET /countries
GET /invoices
GET /coupons/{couponCode}
GET /outgoing_phone_numbers
GET /outgoing_phone_numbers/{phoneNumber}
POST /agents/{userId}/_login
POST /apikeys/_generate
"""

NOT_IMPLEMENTED: list[tuple[str, str]] = [
    (line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in PATHS.split("\n") if line.strip()
]


def _answer(method: str, path: str) -> Any:
    def not_implemented(request: HttpRequest) -> Any:
        raise ApiError(501, f"Not implemented: {method} {path}")

    not_implemented.__name__ = f"not_implemented_{method}_{path}"
    return not_implemented


def _register() -> None:
    by_path: dict[str, list[str]] = {}
    for method, path in NOT_IMPLEMENTED:
        by_path.setdefault(path, []).append(method)
    # The handlers take no path parameters (the answer is the same whatever the ids are);
    # ninja would warn about each of them.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Field\(s\) .* are in the view path")
        for path, methods in by_path.items():
            for method in methods:
                router.add_api_operation(
                    path, [method], _answer(method, path), include_in_schema=False,
                    url_name=f"not_implemented:{method}:{path}",
                )


_register()
