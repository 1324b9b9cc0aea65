'use strict';
// A real PostgreSQL server for a test: initdb into a temporary directory and pg_ctl on a
// free loopback port; stop() stops it and removes the directory. As root it runs as the
// postgres user (PostgreSQL refuses root). The binaries come from PATH or Debian's
// /usr/lib/postgresql/<version>/bin (scripts/test installs the postgresql package).

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function binDir() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    : [];
  versions.sort((a, b) => Number(a) - Number(b));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  return path.join(root, versions.pop(), 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startPostgres() {
  const bin = binDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-node-pg-'));
  const asPostgres = process.getuid && process.getuid() === 0;
  if (asPostgres) execFileSync('chown', ['postgres:postgres', dir]);
  const run = (program, args) => {
    const cmd = path.join(bin, program);
    if (asPostgres) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir, stdio: 'pipe' });
    else execFileSync(cmd, args, { cwd: dir, stdio: 'pipe' });
  };
  const port = await freePort();
  run('initdb', ['-D', `${dir}/data`, '-U', 'forcebus', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run('pg_ctl', ['-D', `${dir}/data`, '-l', `${dir}/log`, '-w', '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  return {
    url: `postgres://forcebus@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

module.exports = { startPostgres, freePort };
