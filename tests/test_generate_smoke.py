from conftest import run, text_events


def test_smoke(api):
    api.stream(text_events("Hello", ", world"))
    result = run(["generate", "hi"])
    assert result.stderr == ""
    assert (result.exit_code, result.stdout) == (0, "Hello, world\n")
    assert api.bodies() == [{"model": "gemini-3-flash-preview", "input": "hi", "stream": True}]
