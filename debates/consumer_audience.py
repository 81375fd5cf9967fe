"""The audience's frames (issue 15), for debates.consumers.LiveConsumer: question.ask,
question.upvote and reaction.tap. Thin: shapes are checked here, rules are the services'.

A malformed frame closes the socket with 4400; a frame from a socket that is not an attendee
of the event (the projector, a stranger, a host's console) closes it with 4403. Questions are
answered after commit (question.acknowledged or question.refused with the reason); a tap is
never answered (debates.reaction_tally counts it, or drops it beyond the attendee's rate).
Hosts moderate through host.command and the registry (debates.host_actions_audience).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.utils import translation

from debates import live, reaction_tally
from debates.live import protocol
from debates.models_audience import Question, QuestionStatus
from debates.services import questions, reactions
from events.models import Attendee, Event

FRAMES = protocol.AUDIENCE_FRAMES


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


async def receive(consumer: Any, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind == protocol.REACTION_TAP:
        await _tap(consumer, message)
        return
    ref = message.get("ref", "")
    if not isinstance(ref, str) or len(ref) > live.REF_MAX:
        await consumer.close(code=live.CLOSE_BAD_MESSAGE)
        return
    if kind == protocol.QUESTION_ASK:
        text, name = message.get("text"), message.get("name", "")
        if not (isinstance(text, str) and isinstance(name, str)):
            await consumer.close(code=live.CLOSE_BAD_MESSAGE)
            return
        run, args = _ask, {"text": text, "name": name}
    else:
        question, up = message.get("question"), message.get("up", True)
        if not (_is_id(question) and isinstance(up, bool)):
            await consumer.close(code=live.CLOSE_BAD_MESSAGE)
            return
        run, args = _upvote, {"question_id": question, "up": up}
    connection = consumer.connection
    if connection is None or connection.attendee_id is None:
        await consumer.close(code=live.CLOSE_FORBIDDEN)
        return
    answer = await database_sync_to_async(_in_language)(
        run,
        consumer.language,
        event_id=connection.event_id,
        attendee_id=connection.attendee_id,
        ref=ref,
        **args,
    )
    await consumer.send(text_data=live.encode(answer))


def _in_language(run: Any, language: str, **kwargs: Any) -> dict[str, Any]:
    """A refusal's reason in the socket's language (LiveConsumer.language)."""
    with translation.override(language):
        return run(**kwargs)


async def _tap(consumer: Any, message: dict[str, Any]) -> None:
    reaction = message.get("reaction")
    if not isinstance(reaction, str) or reaction not in reactions.REACTIONS:
        await consumer.close(code=live.CLOSE_BAD_MESSAGE)
        return
    connection = consumer.connection
    if connection is None or connection.attendee_id is None:
        await consumer.close(code=live.CLOSE_FORBIDDEN)
        return
    reaction_tally.tap_on_loop(
        event_id=connection.event_id, attendee_id=connection.attendee_id, kind=reaction
    )


def _ask(*, event_id: int, attendee_id: int, ref: str, text: str, name: str) -> dict[str, Any]:
    event = Event.objects.filter(pk=event_id).first()
    attendee = Attendee.objects.filter(pk=attendee_id, event_id=event_id).first()
    if event is None:
        return protocol.question_refused(ref=ref, reason=str(questions.QUESTIONS_CLOSED))
    try:
        question = questions.question_ask(event=event, attendee=attendee, text=text, name=name)
    except ValidationError as error:
        return protocol.question_refused(ref=ref, reason=" ".join(error.messages))
    return protocol.question_acknowledged(
        ref=ref, question=question.pk, status=question.status, upvoted=False
    )


def _upvote(
    *, event_id: int, attendee_id: int, ref: str, question_id: int, up: bool
) -> dict[str, Any]:
    question = Question.objects.filter(pk=question_id, event_id=event_id).first()
    attendee = Attendee.objects.filter(pk=attendee_id, event_id=event_id).first()
    if question is None:
        return protocol.question_refused(ref=ref, reason=str(questions.QUESTION_NOT_ON_LIST))
    try:
        question = questions.question_upvote(question=question, attendee=attendee, up=up)
    except ValidationError as error:
        return protocol.question_refused(ref=ref, reason=" ".join(error.messages))
    return protocol.question_acknowledged(
        ref=ref, question=question.pk, status=QuestionStatus(question.status).value, upvoted=up
    )
