// Test-only: drive augnet-mock's SMPP server with the npm `smpp` package, an SMPP client
// written independently of this project. Binds as a transceiver, submits a long UCS-2
// message as UDH-concatenated parts, waits for its delivery receipt, prints JSON.
// Usage: node interop.js PORT SYSTEM_ID PASSWORD DESTINATION TEXT
'use strict';
const smpp = require('smpp');

const [port, systemId, password, destination, text] = process.argv.slice(2);
const PART_UNITS = 67; // UCS-2 units per part once the 6-octet UDH is in (3GPP TS 23.040)
const TIMEOUT_MS = 20000;

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(1);
}

const timer = setTimeout(() => fail('timed out'), TIMEOUT_MS);
const session = smpp.connect({ url: `smpp://127.0.0.1:${port}` });
session.on('error', (err) => fail(String(err)));

const chunks = [];
for (let i = 0; i < text.length; i += PART_UNITS) chunks.push(text.slice(i, i + PART_UNITS));
const reference = 0x2a;
const result = { bind: null, responses: [], receipt: null };

session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  if (!(pdu.esm_class & 0x04)) return;
  result.receipt = {
    text: pdu.short_message.message,
    receiptedMessageId: pdu.receipted_message_id,
    messageState: pdu.message_state,
    esmClass: pdu.esm_class,
  };
  session.unbind(() => {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify(result) + '\n');
    session.close();
  });
});

session.bind_transceiver({ system_id: systemId, password: password }, (pdu) => {
  result.bind = pdu.command_status;
  if (pdu.command_status !== 0) fail(`bind failed: ${pdu.command_status}`);
  chunks.forEach((chunk, index) => {
    const udh = Buffer.from([0x05, 0x00, 0x03, reference, chunks.length, index + 1]);
    session.submit_sm(
      {
        source_addr: 'TAXI',
        source_addr_ton: 5,
        destination_addr: destination,
        dest_addr_ton: 1,
        registered_delivery: 1,
        data_coding: 0x08,
        short_message: { udh: udh, message: chunk },
      },
      (resp) => {
        result.responses.push({ status: resp.command_status, messageId: resp.message_id });
      },
    );
  });
});
