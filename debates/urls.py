from __future__ import annotations

from django.urls import path

from debates import door_views
from debates.views import audience, console, event, me, overlay, room, stage

app_name = "debates"

urlpatterns = [
    path("join/", door_views.join, name="join"),
    path("j/<str:code>/", door_views.join_link, name="join_link"),
    path("j/<str:code>/<str:token>/", door_views.join_qr, name="join_qr"),
    path("e/<slug:slug>/", event.event_page, name="event"),
    path("e/<slug:slug>/polls/<int:poll_id>/vote/", event.vote, name="vote"),
    path("e/<slug:slug>/qr.svg", door_views.qr, name="qr"),
    path("e/<slug:slug>/projector/", event.projector, name="projector"),
    path(
        "e/<slug:slug>/projector-link/<str:key>/", door_views.projector_link, name="projector_link"
    ),
    path("e/<slug:slug>/screen/", door_views.screen, name="screen"),
    path("e/<slug:slug>/host/<str:key>/", console.host_link, name="host_link"),
    path("e/<slug:slug>/console/", console.console, name="console"),
    path("e/<slug:slug>/console/polls/open/", console.poll_open, name="poll_open"),
    path("e/<slug:slug>/console/polls/<int:poll_id>/close/", console.poll_close, name="poll_close"),
    path(
        "e/<slug:slug>/console/polls/<int:poll_id>/visibility/",
        console.poll_visibility,
        name="poll_visibility",
    ),
    path("e/<slug:slug>/console/do/<str:name>/", console.console_command, name="console_command"),
    path("e/<slug:slug>/console/panels/<str:panel>/", console.console_panel, name="console_panel"),
    path("e/<slug:slug>/room/", room.room, name="room"),
    path("e/<slug:slug>/room/points/", room.room_point_add, name="room_point_add"),
    path(
        "e/<slug:slug>/room/points/<int:point_id>/upvote/",
        room.room_point_upvote,
        name="room_point_upvote",
    ),
    path("e/<slug:slug>/room/choose/", room.room_choose, name="room_choose"),
    path("e/<slug:slug>/projector/extras/", event.projector_extras, name="projector_extras"),
    path("e/<slug:slug>/me/", me.my_page, name="my_page"),
    path("e/<slug:slug>/overlay/<str:key>/", overlay.overlay, name="overlay"),
    path("e/<slug:slug>/mind/", stage.mind, name="mind"),
    path("e/<slug:slug>/mind/answer/", stage.mind_answer, name="mind_answer"),
    path("e/<slug:slug>/questions/", audience.questions_page, name="questions"),
    path("e/<slug:slug>/questions/ask/", audience.question_ask, name="question_ask"),
    path(
        "e/<slug:slug>/questions/<int:question_id>/upvote/",
        audience.question_upvote,
        name="question_upvote",
    ),
    path("e/<slug:slug>/reactions/", audience.reaction_tap, name="reaction_tap"),
]
