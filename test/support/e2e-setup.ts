// e2e tests start servers and child processes on a shared 2-core machine: give them room.
jest.setTimeout(60_000);
