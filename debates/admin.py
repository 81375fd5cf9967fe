from __future__ import annotations

from django.contrib import admin

from debates.models import (
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointUpvote,
    Poll,
    RoomMember,
    Takeaway,
    Vote,
    VoteLog,
)


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ["event", "kind", "state", "results_visibility", "opened_at", "closed_at"]
    list_filter = ["kind", "state", "event"]
    search_fields = ["event__title", "question"]
    readonly_fields = ["version", "created_at"]
    list_select_related = ["event"]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["poll", "attendee", "side", "cast_at", "updated_at"]
    list_filter = ["side", "poll__kind", "poll__event"]
    search_fields = ["poll__event__title"]
    list_select_related = ["poll__event", "attendee"]
    raw_id_fields = ["poll", "attendee"]


@admin.register(VoteLog)
class VoteLogAdmin(admin.ModelAdmin):
    list_display = ["poll", "attendee", "previous_side", "side", "at"]
    list_filter = ["side", "poll__kind", "poll__event"]
    list_select_related = ["poll__event", "attendee"]
    raw_id_fields = ["poll", "attendee"]

    # The log is an audit trail: nobody edits it by hand.
    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class BreakoutRoomInline(admin.TabularInline):
    model = BreakoutRoom
    extra = 0


@admin.register(BreakoutRound)
class BreakoutRoundAdmin(admin.ModelAdmin):
    list_display = ["event", "number", "assignment", "started_at", "ends_at", "ended_at"]
    list_filter = ["assignment", "event"]
    inlines = [BreakoutRoomInline]
    list_select_related = ["event"]


@admin.register(BreakoutRoom)
class BreakoutRoomAdmin(admin.ModelAdmin):
    list_display = ["name", "round", "location", "video_url"]
    list_filter = ["round__event"]
    search_fields = ["name", "location"]
    list_select_related = ["round__event"]


@admin.register(RoomMember)
class RoomMemberAdmin(admin.ModelAdmin):
    list_display = ["attendee", "room", "round", "joined_at"]
    list_filter = ["round__event"]
    raw_id_fields = ["attendee", "room", "round"]


@admin.register(Point)
class PointAdmin(admin.ModelAdmin):
    list_display = ["text", "side", "theme", "room", "upvotes", "status", "highlighted"]
    list_filter = ["side", "status", "highlighted", "event", "theme"]
    search_fields = ["text"]
    list_select_related = ["theme", "room"]
    raw_id_fields = ["author", "merged_into", "room"]


@admin.register(PointUpvote)
class PointUpvoteAdmin(admin.ModelAdmin):
    list_display = ["point", "attendee", "created_at"]
    raw_id_fields = ["point", "attendee"]


@admin.register(Takeaway)
class TakeawayAdmin(admin.ModelAdmin):
    list_display = ["title", "event", "position"]
    list_filter = ["event"]
    search_fields = ["title", "text"]
    list_select_related = ["event"]
