// A plain Faye (Node Bayeux) server for bench/compare: long-polling at /bayeux on the
// port given as the first argument. Prints "ready <port>" once listening.
'use strict';
const http = require('http');
const faye = require('faye');

const port = Number(process.argv[2] || 8000);
const bayeux = new faye.NodeAdapter({ mount: '/bayeux', timeout: 110 });
const server = http.createServer();
bayeux.attach(server);
server.listen(port, '127.0.0.1', () => console.log(`ready ${port}`));
