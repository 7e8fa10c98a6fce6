"""Celery is not under test: the sending task records the outgoing ids it is handed."""


def sends_recorded(monkeypatch) -> list[int]:
    """The ids `send_outgoing` is queued with, now (`delay`) or later (`apply_async`)."""
    from inbox.tasks import send_outgoing

    calls: list[int] = []
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: calls.append(pk))
    monkeypatch.setattr(send_outgoing, "apply_async", lambda args, **kw: calls.append(args[0]))
    return calls
