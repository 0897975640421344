"""Stand-ins for a desktop's D-Bus services, real on the wire (jeepney, pure Python).

    python -m tests.desktop.services watcher LOG    org.kde.StatusNotifierWatcher + host
    python -m tests.desktop.services notifier LOG   org.freedesktop.Notifications, recording
    python -m tests.desktop.services monitor LOG    records Notify calls made to a real daemon

Each call is appended to LOG as one JSON line. Qt uses its D-Bus tray only when a
watcher reports a registered host, and it checks that through introspection, so the
watcher describes its properties in Introspect.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import MatchRule, message_bus
from jeepney.io.blocking import open_dbus_connection

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
PROPERTIES = "org.freedesktop.DBus.Properties"

WATCHER_XML = f"""<node><interface name="{WATCHER}">
 <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
 <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
 <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
 <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
 <property name="ProtocolVersion" type="i" access="read"/>
 <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
 <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
 <signal name="StatusNotifierHostRegistered"/>
</interface><interface name="{PROPERTIES}">
 <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="out"/></method>
 <method name="GetAll"><arg type="s" direction="in"/><arg type="a{{sv}}" direction="out"/></method>
</interface></node>"""

NOTIFICATIONS_XML = f"""<node><interface name="{NOTIFICATIONS}">
 <method name="GetCapabilities"><arg type="as" direction="out"/></method>
 <method name="Notify"><arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
  <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
  <arg type="a{{sv}}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/></method>
 <method name="CloseNotification"><arg type="u" direction="in"/></method>
 <method name="GetServerInformation"><arg type="s" direction="out"/><arg type="s" direction="out"/>
  <arg type="s" direction="out"/><arg type="s" direction="out"/></method>
 <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
 <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
</interface></node>"""

Handler = Callable[..., tuple[str, tuple[Any, ...]] | None]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": len(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _log(path: str, entry: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(_plain({**entry, "t": time.time()}), ensure_ascii=False) + "\n")


def _serve(name: str, handlers: dict[tuple[str, str], Handler], xml: dict[str, str],
           on_signal: Callable[[Any], None] | None = None, outbox: list[Any] | None = None) -> None:
    """Own ``name`` and answer calls; messages a handler puts in ``outbox`` go out after its reply."""
    connection = open_dbus_connection(bus="SESSION")
    reply = connection.send_and_get_reply(message_bus.RequestName(name, 4), timeout=5)
    if reply.body[0] != 1:
        sys.exit(f"{name} is already owned")
    if on_signal is not None:
        rule = MatchRule(type="signal", sender="org.freedesktop.DBus", member="NameOwnerChanged")
        connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        message = connection.receive()
        kind = message.header.message_type
        if kind == MessageType.signal and on_signal is not None:
            on_signal(message)
            continue
        if kind != MessageType.method_call:
            continue
        fields = message.header.fields
        interface, member = fields.get(HeaderFields.interface), fields.get(HeaderFields.member)
        if member == "Introspect":
            connection.send(new_method_return(message, "s", (xml.get(fields.get(HeaderFields.path), "<node/>"),)))
            continue
        handler = handlers.get((interface, member)) or handlers.get(("", member))
        if handler is None:
            connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (member,)))
            continue
        out = handler(message, *message.body)
        connection.send(new_method_return(message, *out) if out else new_method_return(message))
        while outbox:
            connection.send(outbox.pop(0))


def watcher(log: str) -> None:
    items: list[str] = []
    outbox: list[Any] = []

    def register(message: Any, service: str) -> None:
        sender = message.header.fields[HeaderFields.sender]
        item = sender + service if service.startswith("/") else service + "/StatusNotifierItem"
        if item not in items:
            items.append(item)
        _log(log, {"event": "register", "item": item, "sender": sender})
        outbox.append(new_signal(DBusAddress(WATCHER_PATH, interface=WATCHER), "StatusNotifierItemRegistered",
                                  "s", (item,)))

    def properties() -> dict[str, tuple[str, Any]]:
        return {"RegisteredStatusNotifierItems": ("as", list(items)),
                "IsStatusNotifierHostRegistered": ("b", True), "ProtocolVersion": ("i", 0)}

    def owner_changed(message: Any) -> None:
        if message.header.fields.get(HeaderFields.member) != "NameOwnerChanged":
            return
        name, _old, new = message.body
        if not new:
            for item in [i for i in items if i.split("/", 1)[0] == name]:
                items.remove(item)
                _log(log, {"event": "unregister", "item": item})

    _serve(WATCHER, {
        (WATCHER, "RegisterStatusNotifierItem"): register,
        (WATCHER, "RegisterStatusNotifierHost"): lambda m, s: None,
        (PROPERTIES, "Get"): lambda m, i, n: ("v", (properties()[n],)),
        (PROPERTIES, "GetAll"): lambda m, i: ("a{sv}", (properties(),)),
    }, {WATCHER_PATH: WATCHER_XML, "/": '<node><node name="StatusNotifierWatcher"/></node>'}, owner_changed, outbox)


#: Not part of the spec: lets a test "click" a notification, making the server emit ActionInvoked.
TEST_INTERFACE = "org.credittray.Test"


def notifier(log: str) -> None:
    ids = itertools.count(1)
    outbox: list[Any] = []
    # What the server says it can do; a test may ask for another set (e.g. with "body-markup", as dunst has).
    capabilities = os.environ.get("CREDIT_TRAY_TEST_NOTIFY_CAPS", "body,actions,icon-static").split(",")

    def invoke(message: Any, nid: int, key: str) -> None:
        _log(log, {"method": "Invoke", "id": nid, "key": key})
        outbox.append(new_signal(DBusAddress(NOTIFICATIONS_PATH, interface=NOTIFICATIONS), "ActionInvoked", "us",
                                 (nid, key)))

    def notify(message: Any, app: str, replaces: int, icon: str, summary: str, body: str,
               actions: list[str], hints: dict[str, Any], timeout: int) -> tuple[str, tuple[Any, ...]]:
        nid = replaces or next(ids)
        _log(log, {"method": "Notify", "id": nid, "app_name": app, "app_icon": icon, "summary": summary,
                   "body": body, "actions": actions, "hints": {k: v[1] for k, v in hints.items()},
                   "expire_timeout": timeout})
        return "u", (nid,)

    _serve(NOTIFICATIONS, {
        (NOTIFICATIONS, "Notify"): notify,
        (NOTIFICATIONS, "GetCapabilities"): lambda m: ("as", (capabilities,)),
        (NOTIFICATIONS, "CloseNotification"): lambda m, i: None,
        (NOTIFICATIONS, "GetServerInformation"): lambda m: ("ssss", ("credit-tray-tests", "tests", "1", "1.2")),
        (TEST_INTERFACE, "Invoke"): invoke,
    }, {NOTIFICATIONS_PATH: NOTIFICATIONS_XML}, outbox=outbox)


def monitor(log: str) -> None:
    """Record every Notify call on the bus while a real daemon (dunst) shows it on screen."""
    from jeepney import new_method_call

    connection = open_dbus_connection(bus="SESSION")
    rule = MatchRule(type="method_call", interface=NOTIFICATIONS, member="Notify")
    become = new_method_call(DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                                         interface="org.freedesktop.DBus.Monitoring"),
                             "BecomeMonitor", "asu", ([rule.serialise()], 0))
    connection.send_and_get_reply(become, timeout=5)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        message = connection.receive()
        if message.header.fields.get(HeaderFields.member) != "Notify":
            continue
        app, _replaces, icon, summary, body, actions, hints, timeout = message.body
        _log(log, {"method": "Notify", "app_name": app, "app_icon": icon, "summary": summary, "body": body,
                   "actions": actions, "hints": {k: v[1] for k, v in hints.items()}, "expire_timeout": timeout})


# ------------------------------------------------------------------ client side, for assertions

def _call(connection: Any, bus_name: str, path: str, interface: str, member: str,
          signature: str | None = None, body: tuple[Any, ...] = ()) -> Any:
    from jeepney import new_method_call

    message = new_method_call(DBusAddress(path, bus_name=bus_name, interface=interface), member, signature, body)
    reply = connection.send_and_get_reply(message, timeout=5)
    if reply.header.message_type == MessageType.error:
        raise RuntimeError(f"{interface}.{member}: {reply.body}")
    return reply.body


def click_notification(connection: Any, notification_id: int, key: str = "default") -> None:
    """As if the user clicked the notification (``default``) or one of its action buttons."""
    _call(connection, NOTIFICATIONS, NOTIFICATIONS_PATH, TEST_INTERFACE, "Invoke", "us", (notification_id, key))


def tray_items(connection: Any) -> list[str]:
    (value,) = _call(connection, WATCHER, WATCHER_PATH, PROPERTIES, "Get", "ss",
                     (WATCHER, "RegisteredStatusNotifierItems"))
    return list(value[1])


def _flatten(node: Any, out: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    item_id, props, children = node
    out.append({"id": item_id, "depth": depth, "label": props.get("label", ("s", ""))[1].replace("_", ""),
                "visible": props.get("visible", ("b", True))[1], "enabled": props.get("enabled", ("b", True))[1]})
    for child in children:
        _flatten(child[1], out, depth + 1)
    return out


def item_properties(connection: Any, item: str) -> dict[str, Any]:
    service, path = item.split("/", 1)
    (props,) = _call(connection, service, "/" + path, PROPERTIES, "GetAll", "s", ("org.kde.StatusNotifierItem",))
    out = {k: v[1] for k, v in props.items()}
    if out.get("Menu") and out["Menu"] != "/NO_DBUSMENU":
        _, layout = _call(connection, service, out["Menu"], "com.canonical.dbusmenu", "GetLayout", "iias",
                          (0, -1, []))
        out["menu"] = _flatten(layout, [])
    return out


def menu_event(connection: Any, item: str, menu_path: str, item_id: int) -> None:
    service = item.split("/", 1)[0]
    _call(connection, service, menu_path, "com.canonical.dbusmenu", "Event", "isvu",
          (item_id, "clicked", ("i", 0), int(time.time())))


if __name__ == "__main__":
    {"watcher": watcher, "notifier": notifier, "monitor": monitor}[sys.argv[1]](sys.argv[2])
