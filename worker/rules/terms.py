"""The rules about what the client pays: the price change and a discount that ends before the
renewal (the contact tier is ``tier``). Each with its words and texts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping

from worker.rules.context import Context, notice_deadline
from worker.rules.model import SERVICE, Reminder, Rule, SubscriptionRow, stage_key, urgency
from worker.words import day, money, percent, when

PRICE_CHANGE = "renewal.price_change"
DISCOUNT_ENDS = "renewal.discount_ends"
DISCOUNT_NOTICE_DAYS = 30  # a discount ending before the renewal: told to the client a month ahead
# A service contract's new price: told to the client a month before the notice deadline, so
# that they can still cancel or renegotiate (HubSpot's 75-day emails don't apply to the
# partner's own contracts; with the default 45-day deadline this is the same day).
SERVICE_PRICE_NOTICE_DAYS = 30


def at_hand(sub: SubscriptionRow) -> dict[str, Any]:
    """What the partner needs at hand for the conversation (DOMAIN.md): HubSpot's renewal
    manager and the link to the client's renewal options, where the portal records them."""
    return {key: value for key, value in (("renewal_manager", sub.renewal_manager), ("renewal_options_url", sub.renewal_options_url)) if value}


def _ending_discount(sub: SubscriptionRow) -> dict[str, Any]:
    """A discount that ends on or before the renewal: the usual reason the price goes up."""
    end, renewal = sub.discount_end_date, sub.renewal_date
    if end is None or renewal is None or end > renewal:
        return {}
    return {"discount_end": end.isoformat(), "discount_percent": None if sub.discount_percent is None else format(sub.discount_percent, "f")}


def stage_context(ctx: Context) -> dict[str, Any]:
    """What a subscription's task words need to follow the renewal's stage: the notice deadline
    and who communicates. "_" facts: context for the words, never a reason to rewrite a task
    already written (``worker.tasks.texts.fingerprint``)."""
    deadline, _ = notice_deadline(ctx.sub, ctx.config)
    return {"_deadline": deadline.isoformat() if deadline else None, "_communication": ctx.sub.communication_owner}


def stage_words(facts: Mapping[str, Any], language: str, due: date) -> dict[str, Any]:
    """The deadline as a task due on ``due`` names it, whether it has passed by then, and which
    text variant fits who communicates (see ``worker.rules.model.stage_key``). Facts without the
    deadline (a reminder from before there were stages) keep the plain texts."""
    if not facts.get("_deadline"):
        return {"text_variant": None}
    deadline = date.fromisoformat(facts["_deadline"])
    return {
        "deadline": day(deadline, language),
        "deadline_passed": deadline < due,
        "text_variant": "partner" if facts.get("_communication") == "partner" else "hubspot",
    }


def price_change_percent(current: Decimal, renewal: Decimal) -> Decimal | None:
    if current == 0:
        return None
    return ((renewal - current) / current * 100).quantize(Decimal("0.1"))


def price_change(ctx: Context) -> list[Reminder]:
    current, renewal_price = ctx.sub.current_price, ctx.sub.renewal_price
    if current is None or renewal_price is None or current == renewal_price:
        return []
    percent = price_change_percent(current, renewal_price)
    threshold = Decimal(str(ctx.config.price_change_threshold_percent))
    # Compared exactly: 10.04 % is over a 10 % threshold even though it shows as +10.0 %.
    if current != 0 and threshold > 0 and abs(renewal_price - current) * 100 <= threshold * current:
        return []
    renewal = ctx.sub.renewal_date
    assert renewal is not None
    facts = {
        "current_price": format(current, "f"),
        "renewal_price": format(renewal_price, "f"),
        "currency": ctx.sub.currency or "",
        "change_percent": None if percent is None else format(percent, "f"),
        **_ending_discount(ctx.sub),
        **at_hand(ctx.sub),
    }
    if ctx.sub.kind == SERVICE:
        # The client must hear of it while they can still cancel: before the notice deadline.
        deadline, _ = notice_deadline(ctx.sub, ctx.config)
        assert deadline is not None
        facts["tell_by"] = deadline.isoformat()
        return [ctx.reminder(PRICE_CHANGE, renewal, "", deadline - timedelta(days=SERVICE_PRICE_NOTICE_DAYS), ctx.urgency, facts)]
    emails_start = renewal - timedelta(days=ctx.config.hubspot_emails_days)
    facts["emails_start"] = emails_start.isoformat()
    facts.update(stage_context(ctx))
    return [ctx.reminder(PRICE_CHANGE, renewal, "", emails_start, ctx.urgency, facts)]


def discount_ends(ctx: Context) -> list[Reminder]:
    """A discount that ends before the renewal while no new price is recorded: the client will
    pay more from that day, and nobody has said how much yet."""
    end, renewal = ctx.sub.discount_end_date, ctx.sub.renewal_date
    if end is None or renewal is None or end >= renewal or end < ctx.as_of:
        return []
    current, renewal_price = ctx.sub.current_price, ctx.sub.renewal_price
    if current is not None and renewal_price is not None and current != renewal_price:
        return []  # the price-change task names the discount
    facts = {**_ending_discount(ctx.sub), **at_hand(ctx.sub)}
    return [ctx.reminder(DISCOUNT_ENDS, end, "", end - timedelta(days=DISCOUNT_NOTICE_DAYS), urgency((end - ctx.as_of).days), facts)]


def _price_words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: date) -> dict[str, Any]:
    change = facts.get("change_percent")
    return {
        "current_price": money(facts["current_price"], facts.get("currency"), language),
        "renewal_price": money(facts["renewal_price"], facts.get("currency"), language),
        "change": t["unknown_percent"] if change is None else percent(change, language, signed=True),
        **_discount_words(facts, language, t, due),
        **stage_words(facts, language, due),
    }


def _discount_words(facts: Mapping[str, Any], language: str, t: Mapping[str, Any], due: date) -> dict[str, Any]:
    if not facts.get("discount_end"):
        return {}
    share = facts.get("discount_percent")
    return {
        "discount_end": day(facts["discount_end"], language),
        "when_discount": when((date.fromisoformat(facts["discount_end"]) - due).days, language, facts["discount_end"]),
        "discount": t["discount.percent"].format(percent=percent(share, language)) if share is not None else t["discount.unknown"],
    }


def with_what_is_at_hand(facts: Mapping[str, Any], values: dict[str, Any], late: bool, t: Mapping[str, Any]) -> list[str]:
    """The rule's lines, after the discount that ends (when there is one) and followed by the
    renewal manager and the link to the renewal options (when the portal records them)."""
    lines = [t[_discount_line(facts)].format(**values)] if facts.get("discount_end") and "discount.line" in t else []
    lines += [line.format(**values) for line in t[stage_key("body", values, late, t)]]
    if facts.get("renewal_manager"):
        lines.append(t["at_hand.manager"].format(**values))
    if facts.get("renewal_options_url"):
        lines.append(t["at_hand.options"].format(**values))
    return lines


def _discount_line(facts: Mapping[str, Any]) -> str:
    """A discount that ends raises the price; a record whose renewal price is lower says two
    things that cannot both be true, and the line says so instead of telling one as the other."""
    falls = facts.get("current_price") is not None and facts.get("renewal_price") is not None and (
        Decimal(facts["renewal_price"]) < Decimal(facts["current_price"])
    )
    return "discount.line.falls" if falls else "discount.line"


# Shared words of the tasks that carry the renewal manager and the renewal options.
AT_HAND_WORDS = {
    "en": {
        "at_hand.manager": "HubSpot renewal manager: {renewal_manager}.",
        "at_hand.options": "The client's renewal options: {renewal_options_url}",
        "discount.percent": "{percent} discount",
        "discount.unknown": "discount",
    },
    "es": {
        "at_hand.manager": "Mánager de renovación de HubSpot: {renewal_manager}.",
        "at_hand.options": "Opciones de renovación del cliente: {renewal_options_url}",
        "discount.percent": "descuento del {percent}",
        "discount.unknown": "descuento",
    },
}


PRICE_CHANGE_RULE = Rule(
    PRICE_CHANGE,
    fires=price_change,
    gone=lambda sub, portfolio, config: "the renewal price no longer differs from the current price"
    + (f" by more than {config.price_change_threshold_percent:g} %" if config.price_change_threshold_percent else ""),
    words=_price_words,
    lines=with_what_is_at_hand,
    texts={
        "en": {
            **AT_HAND_WORDS["en"],
            "discount.line": "The {discount} ends on {discount_end}: from {current_price} to {renewal_price}.",
            "discount.line.falls": "The {discount} ends on {discount_end}, yet the renewal price recorded is lower ({current_price} to {renewal_price}): check both on the record before telling the client.",
            "subject": "Price change at renewal: {company}, {current_price} → {renewal_price} ({change})",
            "body": [
                "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} ({change}).",
                "To do: explain the change to the client before HubSpot's renewal emails start on {emails_start}.",
            ],
            "body.late": [
                "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} ({change}).",
                "To do: explain the change to the client now: HubSpot's renewal emails started on {emails_start}.",
            ],
            "body.hubspot.late": [
                "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} ({change}).",
                "To do: explain the change to the client now: HubSpot's renewal emails started on {emails_start}; the client can still cancel or renegotiate until {deadline}.",
            ],
            # The partner communicates: the change is told at the partner's renewal meeting.
            "body.partner": [
                "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} ({change}).",
                "To do: explain the change at the renewal meeting with the client, by {emails_start}, while they can still cancel or renegotiate (until {deadline}).",
            ],
            "body.partner.late": [
                "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} ({change}).",
                "To do: explain the change to the client now (it was due by {emails_start}); they can still cancel or renegotiate until {deadline}.",
            ],
            "body.after": [
                "At the renewal on {renewal_date} the monthly price of {products} changes from {current_price} to {renewal_price} ({change}).",
                "The deadline to cancel or renegotiate passed on {deadline}: the new price applies from the renewal.",
                "To do: make sure the client knows the new price before it is invoiced; any change of terms now goes through HubSpot's renewal manager.",
            ],
            "unknown_percent": "new price, no current price",
        },
        "es": {
            **AT_HAND_WORDS["es"],
            "discount.line": "El {discount} termina el {discount_end}: de {current_price} a {renewal_price}.",
            "discount.line.falls": "El {discount} termina el {discount_end}, pero el precio de renovación registrado es menor (de {current_price} a {renewal_price}): comprobar ambos en el registro antes de hablar con el cliente.",
            "subject": "Cambio de precio en la renovación: {company}, {current_price} → {renewal_price} ({change})",
            "body": [
                "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} ({change}).",
                "Qué hacer: explicar el cambio al cliente antes de que HubSpot empiece a enviar sus correos de renovación el {emails_start}.",
            ],
            "body.late": [
                "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} ({change}).",
                "Qué hacer: explicar el cambio al cliente cuanto antes: los correos de renovación de HubSpot empezaron el {emails_start}.",
            ],
            "body.hubspot.late": [
                "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} ({change}).",
                "Qué hacer: explicar el cambio al cliente cuanto antes: los correos de renovación de HubSpot empezaron el {emails_start}; el cliente aún puede cancelar o renegociar hasta el {deadline}.",
            ],
            "body.partner": [
                "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} ({change}).",
                "Qué hacer: explicar el cambio en la reunión de renovación con el cliente, a más tardar el {emails_start}, mientras aún puede cancelar o renegociar (hasta el {deadline}).",
            ],
            "body.partner.late": [
                "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} ({change}).",
                "Qué hacer: explicar el cambio al cliente cuanto antes (tocaba a más tardar el {emails_start}); aún puede cancelar o renegociar hasta el {deadline}.",
            ],
            "body.after": [
                "En la renovación del {renewal_date} el precio mensual de {products} pasa de {current_price} a {renewal_price} ({change}).",
                "La fecha tope para cancelar o renegociar pasó el {deadline}: el precio nuevo se aplica desde la renovación.",
                "Qué hacer: asegurarse de que el cliente conoce el precio nuevo antes de facturarlo; cualquier cambio de condiciones pasa ahora por el mánager de renovación de HubSpot.",
            ],
            "unknown_percent": "precio nuevo, sin precio actual",
        },
    },
    service_texts={
        "en": {
            "subject": "Service contract price change: {company}, {current_price} → {renewal_price} ({change})",
            "body": [
                "At the renewal on {renewal_date} the monthly price of the service contract ({products}) changes from {current_price} to {renewal_price} ({change}).",
                "To do: explain the change to the client before {tell_by}, the last day they can cancel or renegotiate.",
            ],
            "body.late": [
                "At the renewal on {renewal_date} the monthly price of the service contract ({products}) changes from {current_price} to {renewal_price} ({change}).",
                "The last day to cancel or renegotiate was {tell_by}: the contract renews at the new price.",
                "To do: tell the client the new price before invoicing it.",
            ],
        },
        "es": {
            "subject": "Cambio de precio del contrato de servicios: {company}, {current_price} → {renewal_price} ({change})",
            "body": [
                "En la renovación del {renewal_date} el precio mensual del contrato de servicios ({products}) pasa de {current_price} a {renewal_price} ({change}).",
                "Qué hacer: explicar el cambio al cliente antes del {tell_by}, último día para cancelar o renegociar.",
            ],
            "body.late": [
                "En la renovación del {renewal_date} el precio mensual del contrato de servicios ({products}) pasa de {current_price} a {renewal_price} ({change}).",
                "El último día para cancelar o renegociar fue el {tell_by}: el contrato se renueva al precio nuevo.",
                "Qué hacer: comunicar al cliente el precio nuevo antes de facturarlo.",
            ],
        },
    },
)

DISCOUNT_ENDS_RULE = Rule(
    DISCOUNT_ENDS,
    fires=discount_ends,
    gone=lambda sub, portfolio, config: "the discount no longer ends before the renewal, or the new price is recorded (the price-change task names the discount)",
    words=_discount_words,
    lines=with_what_is_at_hand,
    anchor=lambda sub, config: sub.discount_end_date,
    anchor_name="discount's end",
    texts={
        "en": {
            **AT_HAND_WORDS["en"],
            "subject": "Discount ends {when_discount}: {company} ({discount_end})",
            "body": [
                "The {discount} on {products} ends on {discount_end}, before the renewal on {renewal_date}, and no new price is recorded yet.",
                "To do: tell the client what they pay from {discount_end}, and record the renewal price.",
            ],
        },
        "es": {
            **AT_HAND_WORDS["es"],
            "subject": "El descuento termina {when_discount}: {company} ({discount_end})",
            "body": [
                "El {discount} de {products} termina el {discount_end}, antes de la renovación del {renewal_date}, y aún no hay precio nuevo registrado.",
                "Qué hacer: explicar al cliente cuánto pagará desde el {discount_end} y registrar el precio de renovación.",
            ],
        },
    },
    service_texts={
        "en": {
            "subject": "Service contract discount ends {when_discount}: {company} ({discount_end})",
            "body": [
                "The {discount} on the service contract ({products}) ends on {discount_end}, before the renewal on {renewal_date}, and no new price is recorded yet.",
                "To do: tell the client what they pay from {discount_end}, and record the renewal price.",
            ],
        },
        "es": {
            "subject": "El descuento del contrato de servicios termina {when_discount}: {company} ({discount_end})",
            "body": [
                "El {discount} del contrato de servicios ({products}) termina el {discount_end}, antes de la renovación del {renewal_date}, y aún no hay precio nuevo registrado.",
                "Qué hacer: explicar al cliente cuánto pagará desde el {discount_end} y registrar el precio de renovación.",
            ],
        },
    },
)

# The subscription rules, in the order their reminders are listed.
