"""An upload handler that keeps a request's files within the attachment limits as they stream in.

A file that would pass the total, or one file too many, is skipped while the
request is read (nothing of it is kept in memory or on disk) and named in
``refused``; the other fields and files are read as usual, so the text typed
and the other attachments survive the refusal.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest


class AttachmentBudget(FileUploadHandler):
    def __init__(self, request: HttpRequest, *, max_bytes: int, max_files: int) -> None:
        super().__init__(request)
        self.bytes_left = max_bytes
        self.files_left = max_files
        self.refused: list[str] = []
        self.too_many: list[str] = []
        self._size = 0
        self._one_too_many = False

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, bytes] | None = None,
    ) -> None:
        # Skipped at its first chunk, not here: Django closes every handler's current file on a
        # skip, and the handlers after this one still hold the previous (kept) file until then.
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self._size = 0
        self._one_too_many = self.files_left <= 0
        self.files_left -= 1

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._size += len(raw_data)
        if self._one_too_many:
            self.too_many.append(self.file_name or "")
            raise SkipFile
        if self._size > self.bytes_left:
            self.refused.append(self.file_name or "")
            self.files_left += 1
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        self.bytes_left -= file_size  # the next handler (memory or temporary file) keeps it


class BudgetedRequest(HttpRequest):
    """A request whose view reads its files through ``install``'s budget (for the type checker)."""

    attachment_budget: AttachmentBudget


def install(request: HttpRequest, *, max_bytes: int, max_files: int) -> AttachmentBudget:
    """Put the budget first, before anything reads ``request.POST`` (see the views' csrf note)."""
    budget = AttachmentBudget(request, max_bytes=max_bytes, max_files=max_files)
    request.upload_handlers = [budget, *request.upload_handlers]
    return budget
