// The cli package: see docs/ARCHITECTURE.md. Its code arrives with its issue.
export {};
