"""Bench: a mitmproxy websocket_message hook that changes nothing (as passthrough.mjs)."""


def websocket_message(flow):
    return None
