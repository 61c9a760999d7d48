#!/usr/bin/env python3
"""A minimal SMTP sink for benchmarks: accepts every message, keeps none,
and prints how many it received (every second, and at exit).
Usage: smtp-sink.py PORT"""
import asyncio, sys, time

count = 0


async def session(reader, writer):
    global count
    writer.write(b"220 sink ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO"):
            writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif cmd == b"DATA":
            writer.write(b"354 go on\r\n")
            await writer.drain()
            while (await reader.readline()) not in (b".\r\n", b".\n", b""):
                pass
            count += 1
            writer.write(b"250 OK\r\n")
        elif cmd.startswith(b"QUIT"):
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


async def report():
    while True:
        await asyncio.sleep(1)
        print(f"{time.time():.3f} {count}", flush=True)


async def main(port):
    server = await asyncio.start_server(session, "127.0.0.1", port)
    asyncio.create_task(report())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
