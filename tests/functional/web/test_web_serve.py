"""`gpaccess serve` as an operator starts it: several processes over one store, one sign-in good for all of them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from web_helpers import copy_world, sign_in


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_share_sessions_and_serve_every_page(web_world, tmp_path):
    world = copy_world(web_world, tmp_path / "home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")} | {"GPACCESS_HOME": str(world.home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gpaccess", "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=60) as http:
            assert sign_in(http, "analyst").status_code == 303
            # Requests on fresh connections go to either process (the kernel spreads them): the session lives in
            # the plan store, so it holds in whichever answers, and each process has its own measures.
            for _ in range(12):
                with httpx.Client(base_url=base, timeout=60, cookies=http.cookies) as fresh:
                    page = fresh.get(f"/practice/{world.practice}")
                    assert page.status_code == 200 and world.practice in page.text
                    chart = fresh.get(f"/practice/{world.practice}/spc/f2f_gp.svg")
                    assert chart.status_code == 200 and chart.text.startswith("<svg")
            other = http.get(f"/practice/{world.other_practice}")
            assert other.status_code == 404  # scope holds in every process
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "with 2 process(es)" in out
