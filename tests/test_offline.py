"""The no-network guard in conftest.py is real: connections and lookups fail inside tests."""

from __future__ import annotations

import socket

import pytest

from conftest import NetworkBlocked


def test_outbound_connection_is_blocked():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with pytest.raises(NetworkBlocked):
            s.connect(("93.184.216.34", 443))


def test_name_resolution_is_blocked():
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("huggingface.co", 443)


def test_hub_download_fails_under_the_guard(monkeypatch):
    # Even with the offline switch lifted, the hub cannot be reached from a test.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    from huggingface_hub import hf_hub_download

    with pytest.raises(Exception):
        hf_hub_download("sentence-transformers/all-MiniLM-L6-v2", "config.json", cache_dir="/tmp/none")


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.connect(server.getsockname())
