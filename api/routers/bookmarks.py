"""/api/bookmarks: saved searches, which job invocations may target by `bookmark_id`."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import CurrentUserDep, PagingDep, ReaderDep, SessionDep
from api.render import envelope
from api.schemas import BookmarkBody
from rex import bookmarks
from rex.errors import AccessDenied
from rex.models import Bookmark, User

router = APIRouter(tags=["bookmarks"])


def render_bookmark(bookmark: Bookmark) -> dict:
    """Render a bookmark as Foreman does."""
    return {
        "name": bookmark.name,
        "controller": bookmark.controller,
        "query": bookmark.query,
        "public": bookmark.public,
        "id": bookmark.id,
        "owner_id": bookmark.owner_id,
        "owner_type": "User",
    }


def _own(bookmark: Bookmark, user: User, permission: str) -> None:
    """Only its owner (or an admin) changes a bookmark, public or not."""
    if not user.admin and bookmark.owner_id != user.id:
        raise AccessDenied([permission])


@router.get("/bookmarks", summary="List bookmarks")
async def index(session: ReaderDep, user: CurrentUserDep, paging: PagingDep) -> dict:
    page = await bookmarks.list_bookmarks(session, request=paging, user=user)
    return envelope(page, paging, render_bookmark)


@router.get("/bookmarks/{id}", summary="Show a bookmark")
async def show(id: str, session: ReaderDep, user: CurrentUserDep) -> dict:
    return render_bookmark(await bookmarks.find_bookmark(session, id, user=user))


@router.post("/bookmarks", status_code=status.HTTP_201_CREATED, summary="Create a bookmark")
async def create(body: BookmarkBody, session: SessionDep, user: CurrentUserDep) -> dict:
    attrs = body.bookmark.model_dump(exclude_unset=True)
    return render_bookmark(await bookmarks.create_bookmark(session, attrs=attrs, owner=user))


@router.put("/bookmarks/{id}", summary="Update a bookmark")
async def update(id: str, body: BookmarkBody, session: SessionDep, user: CurrentUserDep) -> dict:
    bookmark = await bookmarks.find_bookmark(session, id, user=user)
    _own(bookmark, user, "edit_bookmarks")
    attrs = body.bookmark.model_dump(exclude_unset=True)
    return render_bookmark(await bookmarks.update_bookmark(session, bookmark=bookmark, attrs=attrs))


@router.delete("/bookmarks/{id}", summary="Delete a bookmark")
async def destroy(id: str, session: SessionDep, user: CurrentUserDep) -> dict:
    bookmark = await bookmarks.find_bookmark(session, id, user=user)
    _own(bookmark, user, "destroy_bookmarks")
    body = render_bookmark(bookmark)
    await bookmarks.delete_bookmark(session, bookmark=bookmark)
    return body
