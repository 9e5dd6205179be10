"""Steps of the financing journeys through the portals' own forms (test client, no browser)."""

from __future__ import annotations

import re

from tests.web.clients import form_token

PRODUCT = {"name": "苏信贷·科创信用贷", "type": "credit", "amount_min_wan": "50", "amount_max_wan": "500",
           "term_min_months": "6", "term_max_months": "36", "rate_min": "3.45", "rate_max": "4.5",
           "compensation_fund": "suxin", "sharing_ratio": "50", "size_classes": ["中型", "小型", "微型"],
           "rule_indicator_0": "grade", "rule_op_0": ">=", "rule_value_0": "C",
           "rule_indicator_1": "tax.continuous_months", "rule_op_1": ">=", "rule_value_1": "12"}


def publish_product(client, **changes):  # type: ignore[no-untyped-def]
    data = {**PRODUCT, **changes, "csrf_token": form_token(client, "/institution/products/new")}
    return client.post("/institution/products", data=data, follow_redirects=False)


def post_need(client, amount: str = "300", term: str = "12", purpose: str = "采购原材料"):  # type: ignore[no-untyped-def]
    return client.post("/enterprise/financing/needs", data={
        "csrf_token": form_token(client, "/enterprise/financing"), "amount_wan": amount, "term_months": term,
        "purpose": purpose}, follow_redirects=False)


def need_id(response) -> int:  # type: ignore[no-untyped-def]
    return int(re.search(r"/enterprise/financing/needs/(\d+)", response.headers["location"]).group(1))


def product_id(html: str) -> int:
    return int(re.search(r"apply\?product=(\d+)", html).group(1))


def apply(client, need: int, product: int, consent: bool = True):  # type: ignore[no-untyped-def]
    token = form_token(client, f"/enterprise/financing/needs/{need}/apply?product={product}")
    data = {"csrf_token": token, "product_id": str(product)}
    if consent:
        data["consent"] = "yes"
    return client.post(f"/enterprise/financing/needs/{need}/apply", data=data, follow_redirects=False)
