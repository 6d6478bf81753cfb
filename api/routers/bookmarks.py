"""/api/bookmarks: saved searches, which job invocations may target by `bookmark_id`."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import PagingDep, ReaderDep, SessionDep
from api.permissions import Access, Allowed
from api.render import envelope
from api.schemas import BookmarkBody
from rex import bookmarks
from rex.errors import AccessDenied
from rex.models import Bookmark

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


def _own(bookmark: Bookmark, access: Access, permission: str) -> None:
    """Only its owner (or an admin) changes a bookmark, public or not."""
    if not access.user.admin and bookmark.owner_id != access.id:
        raise AccessDenied([permission], f"Only the owner of bookmark {bookmark.name} may "
                           "change it")


@router.get("/bookmarks", summary="List bookmarks")
async def index(session: ReaderDep, user: Allowed("view_bookmarks"), paging: PagingDep) -> dict:
    page = await bookmarks.list_bookmarks(session, request=paging, user=user.user)
    return envelope(page, paging, render_bookmark)


@router.get("/bookmarks/{id}", summary="Show a bookmark")
async def show(id: str, session: ReaderDep, user: Allowed("view_bookmarks")) -> dict:
    return render_bookmark(await bookmarks.find_bookmark(session, id, user=user.user))


@router.post("/bookmarks", status_code=status.HTTP_201_CREATED, summary="Create a bookmark")
async def create(body: BookmarkBody, session: SessionDep,
                 user: Allowed("create_bookmarks")) -> dict:
    attrs = body.bookmark.model_dump(exclude_unset=True)
    return render_bookmark(await bookmarks.create_bookmark(session, attrs=attrs, owner=user.user))


@router.put("/bookmarks/{id}", summary="Update a bookmark")
async def update(id: str, body: BookmarkBody, session: SessionDep,
                 user: Allowed("edit_bookmarks")) -> dict:
    bookmark = await bookmarks.find_bookmark(session, id, user=user.user)
    _own(bookmark, user, "edit_bookmarks")
    attrs = body.bookmark.model_dump(exclude_unset=True)
    return render_bookmark(await bookmarks.update_bookmark(session, bookmark=bookmark, attrs=attrs))


@router.delete("/bookmarks/{id}", summary="Delete a bookmark")
async def destroy(id: str, session: SessionDep, user: Allowed("destroy_bookmarks")) -> dict:
    bookmark = await bookmarks.find_bookmark(session, id, user=user.user)
    _own(bookmark, user, "destroy_bookmarks")
    body = render_bookmark(bookmark)
    await bookmarks.delete_bookmark(session, bookmark=bookmark)
    return body
