// A real Wechaty puppet-service gateway (gRPC, TLS off) over the mock puppet, for jielong's
// end-to-end test. Control and reports are JSON lines:
//   stdin:  {"say": "text", "from": "<contact id>", "to": "<room id or contact id>"}
//           | {"scanned": true} (the login QR was scanned) | {"quit": true}
//   stdout: {"event": "listening"|"scan"|"login"|"sent"|"said"|"error", ...}
// The world (bot, contacts, rooms) comes from GATEWAY_WORLD (JSON), the port from GATEWAY_PORT
// and the token from GATEWAY_TOKEN. With "qrcode" in the world the bot is not logged in at
// start: the gateway shows that login QR code (again every 300 ms, as real puppets refresh
// theirs) until it is told it was scanned.
import readline from 'node:readline'
import { PuppetServer } from 'wechaty-puppet-service'
import { PuppetMock, mock } from 'wechaty-puppet-mock'
import * as PUPPET from 'wechaty-puppet'

const { ScanStatus } = PUPPET.types

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const port = process.env.GATEWAY_PORT
const token = process.env.GATEWAY_TOKEN
const world = JSON.parse(process.env.GATEWAY_WORLD || '{}')

const people = new Map()
const rooms = new Map()
let scanned = false
let waitingLogin = null
const mocker = new mock.Mocker()
// The mocker runs this on every puppet start: a client that stops the puppet and starts it
// again (every clean restart of jielong does) finds the same world, logged in again.
mocker.use((m) => {
  if (!people.has(world.bot.id)) {
    people.set(world.bot.id, m.createContact({ id: world.bot.id, name: world.bot.name }))
    for (const c of world.contacts || []) {
      people.set(c.id, m.createContact({ id: c.id, name: c.name }))
    }
    for (const r of world.rooms || []) {
      rooms.set(r.id, m.createRoom({ id: r.id, topic: r.topic, memberIdList: [world.bot.id, ...r.members] }))
    }
  }
  const logIn = () => {
    m.login(people.get(world.bot.id))
    emit({ event: 'login', bot: world.bot.id })
  }
  if (!world.qrcode || scanned) {
    logIn()
    return () => {} // the mocker calls this on stop
  }
  const timer = setInterval(() => m.scan(world.qrcode, ScanStatus.Waiting), 300)
  waitingLogin = () => { clearInterval(timer); logIn() }
  emit({ event: 'scan', qrcode: world.qrcode })
  return () => clearInterval(timer)
})

const puppet = new PuppetMock({ mocker })
const sendText = puppet.messageSendText.bind(puppet)
puppet.messageSendText = async (conversationId, text, mentionIdList) => {
  emit({ event: 'sent', to: conversationId, text, mentions: mentionIdList || [] })
  return sendText(conversationId, text, mentionIdList)
}

const server = new PuppetServer({ endpoint: `127.0.0.1:${port}`, puppet, token, tls: { disable: true } })
await server.start()
emit({ event: 'listening', port: Number(port) })

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  try {
    const cmd = JSON.parse(line)
    if (cmd.quit) {
      await server.stop()
      process.exit(0)
    }
    if (cmd.scanned) {
      scanned = true
      if (waitingLogin) waitingLogin()
      return
    }
    const who = people.get(cmd.from)
    const target = rooms.get(cmd.to) || people.get(cmd.to)
    if (!who || !target) throw new Error(`unknown from/to: ${cmd.from} → ${cmd.to}`)
    who.say(cmd.say).to(target)
    emit({ event: 'said', from: cmd.from, to: cmd.to })
  } catch (e) {
    emit({ event: 'error', message: String(e) })
  }
})
rl.on('close', async () => {
  await server.stop()
  process.exit(0)
})
