"""The monitoring API of institutions: watchlist, alerts, webhooks, subscriptions (all under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, JSONResponse

from fincredit.auth.service import Principal
from fincredit.errors import Forbidden
from fincredit.institutions.service import principal_institution_id
from fincredit.monitoring import alerts, repository, subscriptions, watchlist, webhooks
from fincredit.monitoring.schemas import (
    AlertList,
    AlertOut,
    DeliveryList,
    DeliveryOut,
    PushList,
    PushOut,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    WatchIn,
    WatchList,
    WatchOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookSecretOut,
)
from fincredit.objections.markers import records_under_objection
from fincredit.web.deps import InstitutionDep, SessionDep

router = APIRouter(tags=["风险监测与推送"])


def _institution(principal: Principal) -> int:
    institution_id = principal_institution_id(principal)
    if not institution_id:
        raise Forbidden("无法识别的接入机构", code="unknown_institution")
    return institution_id


# -- watchlist ------------------------------------------------------------------------------------

@router.post("/watchlist", response_model=WatchOut, status_code=201, summary="以贷后监测授权监测企业",
             responses={200: {"description": "已在监测中（返回原记录）"}})
def watch(body: WatchIn, me: InstitutionDep, session: SessionDep) -> Response:
    entry, created = watchlist.add_under_authorization(session, _institution(me), body.uscc, body.authorization_id,
                                                       actor=me.name)
    session.commit()
    return JSONResponse(WatchOut.of(entry).model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/watchlist", response_model=WatchList, summary="本机构的监测名单")
def list_watchlist(me: InstitutionDep, session: SessionDep, active: bool = True,
                   limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> WatchList:
    rows = watchlist.list_entries(session, _institution(me), active_only=active, limit=limit, offset=offset)
    return WatchList(items=[WatchOut.of(r) for r in rows])


@router.delete("/watchlist/{entry_id}", response_model=WatchOut, summary="取消监测")
def unwatch(entry_id: int, me: InstitutionDep, session: SessionDep) -> WatchOut:
    entry = watchlist.remove_entry(session, _institution(me), entry_id)
    session.commit()
    return WatchOut.of(entry)


# -- alerts ---------------------------------------------------------------------------------------

@router.get("/alerts", response_model=AlertList, summary="本机构的预警与通知（最新在前）")
def list_alerts(me: InstitutionDep, session: SessionDep, unacked: bool = False,
                kind: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=1000),
                offset: int = Query(0, ge=0)) -> AlertList:
    rows = alerts.list_alerts(session, _institution(me), limit=limit, offset=offset, unacked=unacked, kind=kind)
    disputed = records_under_objection(session, [r.record_id for r in rows if r.record_id])  # 异议中
    return AlertList(items=[AlertOut.model_validate({**alerts.alert_dict(r), "under_objection": r.record_id in disputed})
                            for r in rows])


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut, summary="确认收到预警")
def ack_alert(alert_id: str, me: InstitutionDep, session: SessionDep) -> AlertOut:
    alert = alerts.acknowledge(session, _institution(me), alert_id, me.name)
    session.commit()
    return AlertOut.model_validate(alerts.alert_dict(alert))


# -- webhooks -------------------------------------------------------------------------------------

@router.post("/webhooks", response_model=WebhookSecretOut, status_code=201, summary="登记推送地址（Standard Webhooks）")
def create_webhook(body: WebhookIn, me: InstitutionDep, session: SessionDep) -> WebhookSecretOut:
    endpoint, secret = webhooks.create_endpoint(session, _institution(me), body.url)
    session.commit()
    return WebhookSecretOut(**WebhookOut.of(endpoint).model_dump(), secret=secret)


@router.get("/webhooks", response_model=WebhookList, summary="本机构的推送地址")
def list_webhooks(me: InstitutionDep, session: SessionDep) -> WebhookList:
    return WebhookList(items=[WebhookOut.of(r) for r in repository.endpoints_of(session, _institution(me))])


@router.post("/webhooks/{endpoint_id}/rotate-secret", response_model=WebhookSecretOut, summary="更换签名密钥")
def rotate_webhook_secret(endpoint_id: int, me: InstitutionDep, session: SessionDep) -> WebhookSecretOut:
    endpoint, secret = webhooks.rotate_secret(session, _institution(me), endpoint_id)
    session.commit()
    return WebhookSecretOut(**WebhookOut.of(endpoint).model_dump(), secret=secret)


@router.delete("/webhooks/{endpoint_id}", status_code=204, summary="删除推送地址")
def delete_webhook(endpoint_id: int, me: InstitutionDep, session: SessionDep) -> Response:
    webhooks.delete_endpoint(session, _institution(me), endpoint_id)
    session.commit()
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=DeliveryList, summary="最近的推送记录")
def list_deliveries(endpoint_id: int, me: InstitutionDep, session: SessionDep,
                    limit: int = Query(100, ge=1, le=1000)) -> DeliveryList:
    endpoint = webhooks.own_endpoint(session, _institution(me), endpoint_id)
    return DeliveryList(items=[DeliveryOut.of(r) for r in repository.deliveries_of(session, endpoint.id, limit)])


# -- subscriptions --------------------------------------------------------------------------------

@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201, summary="订阅公开信息批量推送")
def subscribe(body: SubscriptionIn, me: InstitutionDep, session: SessionDep) -> SubscriptionOut:
    row = subscriptions.create_subscription(session, _institution(me), regions=body.regions,
                                            industries=body.industries, schedule=body.schedule,
                                            delivery=body.delivery)
    session.commit()
    return SubscriptionOut.of(row)


@router.get("/subscriptions", response_model=SubscriptionList, summary="本机构的订阅")
def list_subscriptions(me: InstitutionDep, session: SessionDep) -> SubscriptionList:
    return SubscriptionList(items=[SubscriptionOut.of(r)
                                   for r in repository.subscriptions_of(session, _institution(me))])


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="取消订阅")
def unsubscribe(subscription_id: int, me: InstitutionDep, session: SessionDep) -> Response:
    subscriptions.cancel_subscription(session, _institution(me), subscription_id)
    session.commit()
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=PushList, summary="订阅的推送文件")
def list_pushes(subscription_id: int, me: InstitutionDep, session: SessionDep) -> PushList:
    sub = subscriptions.own_subscription(session, _institution(me), subscription_id)
    return PushList(items=[PushOut.of(r) for r in repository.subscription_deliveries(session, sub.id)])


@router.get("/subscriptions/{subscription_id}/deliveries/{number}", summary="下载一次推送（CSV）",
            response_class=FileResponse)
def download_push(subscription_id: int, number: int, me: InstitutionDep, session: SessionDep) -> FileResponse:
    path, filename = subscriptions.delivery_file(session, _institution(me), subscription_id, number)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=filename)
