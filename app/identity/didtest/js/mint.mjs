// Mints one DID-JWT with the real did-jwt library, for the Go tests.
//
// Reads a JSON request on stdin:
//   key:        "ed25519" | "p256" | "secp256k1"  (the signing key type)
//   method:     "key" (default) | "pkh" | "web"
//   web_did:    the did:web DID to issue as, when method is "web"
//   claims:     extra payload claims (aud, nbf, sub, ...)
//   expires_in: seconds until exp; 0 or absent: no exp claim
//   kid:        "none" (default for key and pkh), "relative" (#fragment),
//               "absolute" (DID#fragment, default for web), or a literal kid
//   fragment:   the key's fragment in a did:web document (default "key-1")
//   forge:      { other_key: sign with a fresh key of the same type,
//                 iss: issue as this DID instead,
//                 alg: put this alg in the header,
//                 upper_address: spell the did:pkh address in upper case }
//   check:      verify the token with did-jwt and key-did-resolver (did:key)
// and writes { token, did, kid, multibase, jwk, address, checked } on stdout,
// where multibase and jwk describe the public key (for did:web documents).
import { generateKeyPairSync } from 'node:crypto'
import {
  createJWT,
  verifyJWT,
  EdDSASigner,
  ES256Signer,
  ES256KSigner,
  bytesToMultibase,
  toEthereumAddress,
} from 'did-jwt'
import { Resolver } from 'did-resolver'
import { getResolver } from 'key-did-resolver'

const b64u = (s) => new Uint8Array(Buffer.from(s, 'base64url'))
const hex = (b) => Buffer.from(b).toString('hex')

function newKey(type) {
  if (type === 'ed25519') {
    const { privateKey } = generateKeyPairSync('ed25519')
    const jwk = privateKey.export({ format: 'jwk' })
    return { type, jwk, priv: b64u(jwk.d), pub: b64u(jwk.x) }
  }
  const curve = { p256: 'prime256v1', secp256k1: 'secp256k1' }[type]
  if (!curve) throw new Error(`unknown key type ${type}`)
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve })
  const jwk = privateKey.export({ format: 'jwk' })
  const x = b64u(jwk.x)
  const y = b64u(jwk.y)
  const compressed = new Uint8Array(33)
  compressed[0] = y[31] & 1 ? 3 : 2
  compressed.set(x, 1)
  const uncompressed = new Uint8Array(65)
  uncompressed[0] = 4
  uncompressed.set(x, 1)
  uncompressed.set(y, 33)
  return { type, jwk, priv: b64u(jwk.d), pub: compressed, uncompressed }
}

const codecs = { ed25519: 'ed25519-pub', p256: 'p256-pub', secp256k1: 'secp256k1-pub' }
const algs = { ed25519: 'EdDSA', p256: 'ES256', secp256k1: 'ES256K' }

function signerFor(key, recoverable) {
  switch (key.type) {
    case 'ed25519':
      return EdDSASigner(key.priv)
    case 'p256':
      return ES256Signer(key.priv)
    default:
      return ES256KSigner(key.priv, recoverable)
  }
}

const input = JSON.parse(await new Promise((resolve) => {
  let s = ''
  process.stdin.on('data', (c) => (s += c))
  process.stdin.on('end', () => resolve(s))
}))
const method = input.method ?? 'key'
const forge = input.forge ?? {}
const key = newKey(input.key)
const multibase = bytesToMultibase(key.pub, 'base58btc', codecs[key.type])

let did
let alg = algs[key.type]
let address
let fragment
if (method === 'key') {
  did = `did:key:${multibase}`
  fragment = multibase
} else if (method === 'pkh') {
  if (key.type !== 'secp256k1') throw new Error('did:pkh needs a secp256k1 key')
  // did-jwt's helper drops the first byte (04) of the uncompressed key.
  address = toEthereumAddress(hex(key.uncompressed))
  did = `did:pkh:eip155:1:${address}`
  if (forge.upper_address) did = `did:pkh:eip155:1:0x${address.slice(2).toUpperCase()}`
  alg = 'ES256K-R'
  fragment = 'blockchainAccountId'
} else if (method === 'web') {
  did = input.web_did
  fragment = input.fragment ?? 'key-1'
} else {
  throw new Error(`unknown method ${method}`)
}

const kidMode = input.kid ?? (method === 'web' ? 'absolute' : 'none')
let kid
if (kidMode === 'absolute') kid = `${did}#${fragment}`
else if (kidMode === 'relative') kid = `#${fragment}`
else if (kidMode !== 'none') kid = kidMode

const header = {}
if (kid) header.kid = kid
if (forge.alg) header.alg = forge.alg
const signWith = forge.other_key ? newKey(key.type) : key
const token = await createJWT(
  input.claims ?? {},
  {
    issuer: forge.iss ?? did,
    signer: signerFor(signWith, alg === 'ES256K-R'),
    alg,
    expiresIn: input.expires_in || undefined,
  },
  header,
)

let checked = false
if (input.check) {
  const resolver = new Resolver(getResolver())
  const aud = input.claims?.aud
  await verifyJWT(token, { resolver, audience: Array.isArray(aud) ? aud[0] : aud })
  checked = true
}

const { d, ...publicJwk } = key.jwk
process.stdout.write(JSON.stringify({ token, did, kid: kid ?? '', multibase, jwk: publicJwk, address: address ?? '', checked }))
