"""Every page renders for every role on sample data."""

from __future__ import annotations

import pytest

PAGES = ["/", "/conversations", "/nlu", "/handoffs", "/conversations/web-good"]


@pytest.mark.parametrize("role", ["viewer", "reviewer", "admin"])
def test_pages_render(app_factory, sample, role: str) -> None:
    staff = app_factory()
    staff.login(role)
    for path in PAGES:
        response = staff.client.get(path)
        assert response.status_code == 200, (path, response.text[:2000])
