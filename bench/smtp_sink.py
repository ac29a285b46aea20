"""An SMTP sink in a process of its own, for the email benchmarks: it counts what it accepts.

    python bench/smtp_sink.py aiosmtpd|fast PORT

Prints `ready`, then answers each `count` line on stdin with the number of messages accepted
so far; stops when stdin closes. `aiosmtpd` is the server the tests use; `fast` is a tiny
asyncio server that parses just enough SMTP (EHLO/HELO, MAIL, RCPT, DATA up to the dot,
RSET, NOOP, QUIT) and acknowledges everything, to see how fast a sender can go when the
sink is not the limit.
"""

from __future__ import annotations

import asyncio
import sys
import threading


class Counter:
    value = 0


async def fast_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 sink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await reader.readuntil(b"\r\n.\r\n")
                Counter.value += 1
                writer.write(b"250 OK\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                break
            elif verb in (b"EHLO", b"HELO"):
                writer.write(b"250 sink\r\n")
            else:  # MAIL, RCPT, RSET, NOOP
                writer.write(b"250 OK\r\n")
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def serve_fast(port: int, started: threading.Event) -> None:
    async def main() -> None:
        server = await asyncio.start_server(fast_session, "127.0.0.1", port, backlog=128)
        started.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class AiosmtpdHandler:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook name)
        Counter.value += 1
        return "250 OK"


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    controller = None
    if kind == "fast":
        started = threading.Event()
        threading.Thread(target=serve_fast, args=(port, started), daemon=True).start()
        started.wait(10)
    else:
        from aiosmtpd.controller import Controller

        controller = Controller(AiosmtpdHandler(), hostname="127.0.0.1", port=port)
        controller.start()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(Counter.value, flush=True)
    if controller is not None:
        controller.stop()


if __name__ == "__main__":
    main()
