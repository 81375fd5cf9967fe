"""WhiteNoise, without its toll on every request under ASGI.

WhiteNoise's middleware is sync only. Django then runs it in a worker thread and hops back to
the event loop for the rest of the chain, on every request, static or not: in a join storm a
thread round trip per page (bench.joincost: GET /join/ spent half its samples in that
adaptation). This subclass keeps WhiteNoise's own lookup and response (`files`/`find_file` and
`serve`, the same three lines as its `__call__`) and only adds the async path, so a page passes
straight through on the loop and only a static file takes a thread. Checked against WhiteNoise
6.x (pyproject.toml pins <7); tests/test_static_files.py serves files through it.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, settings=None) -> None:
        if settings is None:
            super().__init__(get_response)
        else:
            super().__init__(get_response, settings=settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if self.autorefresh:
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            # Opening the file is blocking I/O: a thread of the pool, not the database's.
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)
