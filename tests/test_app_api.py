"""The app over HTTP: gradio_client against the page served on 127.0.0.1 (tiny random model)."""

from __future__ import annotations

import json

import pytest

from app_server import serve

gradio_client = pytest.importorskip("gradio_client")

RUN_ARGS = dict(steps=6, schedule="cosine", order="confidence", temperature=0.0, top_p=1.0, block_length=0, remask=0.0,
                threshold=0.0, strength=0.0, seed=11, required="", banned="", attribute="none",
                attribute_strength=0.0, cfg_scale=0.0, percent=70)


@pytest.fixture(scope="module")
def client(tiny_editor):
    with serve(tiny_editor) as url:
        yield gradio_client.Client(url, verbose=False)


def test_the_api_lists_the_page_actions(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/run", "/mask_selection", "/pin_selection", "/insert_at_cursor", "/accept", "/undo", "/replay"} \
        <= set(endpoints)


def test_mask_run_and_accept_over_http(client, tiny_editor):
    from dllm_core import SamplerConfig

    draft, message = client.predict("The old cat slept on the soft blue rug.", 25, 38, "tokens", 3, 70,
                                    api_name="/mask_selection")
    assert draft == "The old cat slept on the [[soft blue rug|3]]." and "masked" in message
    out = client.predict(draft, *RUN_ARGS.values(), api_name="/run")
    canvas, heatmap, progress, result, diff, status, message, replay, download = out
    expected = tiny_editor.edit(draft, SamplerConfig(steps=6, seed=11)).text
    assert result == expected and result.startswith("The old cat slept on the ")
    assert "<del>soft blue rug" in diff and "tokens/s" in status
    assert heatmap["type"] == "plotly" and json.loads(heatmap["plot"])["data"][0]["type"] == "heatmap"
    path = download["value"] if isinstance(download, dict) else download  # a DownloadButton update
    with open(path, encoding="utf-8") as f:
        assert json.load(f)["text"] == expected
    accepted, _ = client.predict(draft, api_name="/accept")  # the session remembers the run
    assert accepted == expected


def test_bad_input_over_http_gives_a_message(client):
    message = client.predict("   ", *RUN_ARGS.values(), api_name="/run")[6]
    assert "msg error" in message and "empty" in message
    # out of range: a message from the engine's own check, not a Gradio error with a traceback in the server log
    message = client.predict("The [[cat]] sat.", *{**RUN_ARGS, "steps": 100_000}.values(), api_name="/run")[6]
    assert "msg error" in message and "steps: must be an integer in 1..1024" in message


def test_sessions_are_isolated(client, tiny_editor):
    draft = "A [[b]] c."
    client.predict(draft, *RUN_ARGS.values(), api_name="/run")
    other = gradio_client.Client(client.src, verbose=False)  # a second browser tab
    draft_update, message = other.predict(draft, api_name="/accept")
    assert draft_update == {"__type__": "update"} and "run an edit first" in message  # the draft is left as it is
