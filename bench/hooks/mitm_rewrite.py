"""Bench: the mitmproxy addon doing what rewrite.mjs does for wstape (websocket_message hook)."""
import json


def websocket_message(flow):
    message = flow.websocket.messages[-1]
    if not message.is_text:
        return
    value = json.loads(message.text)
    value["type"] = "TICK" if value.get("type") == "tick" else "tick"
    message.text = json.dumps(value, separators=(",", ":"))
