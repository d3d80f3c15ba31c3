/**
 * Public keys made once with `ssh-keygen -t <type>` and a certificate made with `openssl req -x509`, with
 * the fingerprints those tools printed for them (`ssh-keygen -l -E md5 -f`, `openssl x509 -fingerprint
 * -sha1`, lower-cased): what Nova shows for the same keys.
 */
export const SSH_KEY_VECTORS = {
  rsa: {
    publicKey:
      'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDgrMN/41XIAN6QKh86Qdteux6eHgiWdSGs0zwC4BcTw1lQtdLpGAvXrj5PEynopmW2qmCtm9UqbaVqvTBHOP0fQf2r7EGCEt84tFiKcBaT7C7HLKD+URmA0IrbIQbxBMpSxiPiC4dcX2hBJhBpowP+Qdw8dXuHqyXybL6og6h2cgtG+C4So0r6YRRxVBsQeAOjjPa0SmyYtr4Q5lun4LvhvGJz9nf16HZrPWyMipdml1METmNgNZJsf8Ck91edLTFjy9vBoPqxxIxXHoLy1n5o5kEsmH/BJaAP8WUMgFRhKZvLjh5zV7mDmTRgtupiaOpcWydQE4I2Z1op+7g2buUN test-rsab2048',
    fingerprint: 'fb:2b:21:1a:51:1b:72:23:0a:40:6b:33:03:c2:a3:9c',
  },
  dsa: {
    publicKey:
      'ssh-dss AAAAB3NzaC1kc3MAAACBAL/t+d+fpaCLeY7tMa+eVKNmsOz/sa64zmdUpL4cdKVyrE+KLxkvxumtnsBXnRy8/xq0hQaDGLBhqRFzj3TjjKkm0W03+cXlghaxzwptddPDjXPj7scISAnau6eXRk42y8h17UOysIIc+U4qGsFmRDi+ajxpz6SUu54CgdU4QMLHAAAAFQCe9yrBL7smFBW8+jIewEUFhpVkVwAAAIEAhCDWHajdNMX01HE/sBvdI7rf8rBXfObbNzU5bOE9A4MCTK5zUtoSvNicyr1S9vzwN+OC0VKKdHBdTppcs6oC+NUp147t+whSU5eeizxy7DjnCDqaqWRISPaRdNaaOjXKpTAZFUn2TjsxBjR3gHUb9TI0RzLEXJfI9O8Mx4ntFQUAAACBAJ+MSaWPBXs7xtsczgByIocaTzutvLAZFbzBvrsEDbevYJef6n0m5qCPndZItNbgMyxyPMktRcST0bHDbX86Tq4ZMikNW5dgJ976RO2UUC0zL1ap/EOBtqhDBSJTPdl6sO8jS2kCRA7dSlDGT7jX3Cs3Eu+0EkG8wsCYQ41RK/IV test-dsa',
    fingerprint: '97:28:70:ce:34:ad:e9:e8:8b:7a:0d:30:db:7d:a7:f7',
  },
  ed25519: {
    publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAtLp/1Kaqiml4rnj7oWRp8PXGX4xk/syNiO/eY7g4Kz test-ed25519',
    fingerprint: '9c:0a:83:dd:3d:41:dc:4d:55:0f:47:7f:87:e5:b4:f3',
  },
  ecdsa256: {
    publicKey:
      'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFJjX44AWKyyrBCRiulpxEfn4Un/plHMhGccLT0ugPLfgZVbORHjK3PKIEGcmflwaXSKKuY8B0HGplP4Bm2I9Hc= test-ecdsab256',
    fingerprint: '7f:5e:c7:14:ae:bd:6e:6e:3d:7c:65:c6:69:66:23:52',
  },
  ecdsa384: {
    publicKey:
      'ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBD5uLYojAxmu8AKsZXPTAKxN21eAHmoEi126orlpx7Aw1heQOqMwg2Q1Xx1KwZzoYW8BREx2ju/eQJnfRTIeRuPJa+Yz90UNRYyRrqzikkqAnMxOZlSC3OJoKPfLNCfsHA== test-ecdsab384',
    fingerprint: 'cf:4d:9f:c0:5a:f8:eb:bf:68:e5:04:ef:db:57:61:97',
  },
  ecdsa521: {
    publicKey:
      'ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAF+8tUEQdsvYztbx9WAAFZlAxBhpdV+T/sDIjpuTCgYpAGEGsIVLWQKWo2hANgbhFj4+Pow2NyHHAs3JBVZTEaGsAHN1sFSBiX/cRn+XYJ14Vu1XF4zotAZ41aXEu6V5He4NLdP0LbSdxDjay+J55yExtVTghuZq88p/LJ+JtEz3fUERA== test-ecdsab521',
    fingerprint: '3e:b9:dc:c7:ce:90:5d:00:cb:b0:5f:80:3d:2b:2a:28',
  },
} as const;

export const X509_VECTOR = {
  certificate: [
    '-----BEGIN CERTIFICATE-----',
    'MIIBhDCCASugAwIBAgIUDs8Hgmu/Ty+hm0JwMrzxRToL28wwCgYIKoZIzj0EAwIw',
    'FzEVMBMGA1UEAwwMc3RyYXR1cy10ZXN0MCAXDTI2MTIwNjE4MzIwOVoYDzIxMjYx',
    'MTEyMTgzMjA5WjAXMRUwEwYDVQQDDAxzdHJhdHVzLXRlc3QwWTATBgcqhkjOPQIB',
    'BggqhkjOPQMBBwNCAAQgm9TndhvpfkNvztDxBAzrkhCh+ecGwfQytd3yb80Bp/UR',
    'EF9HRUz1TJEpN1e2UvlUwamsJYztKFMGgLCVhZLMo1MwUTAdBgNVHQ4EFgQUyR6M',
    'hUBDj51ea1Iyr5Wv1atz/vowHwYDVR0jBBgwFoAUyR6MhUBDj51ea1Iyr5Wv1atz',
    '/vowDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBRvWP2kTEgz2WH',
    's410FSd4LqeFNZCmS6wJiSd2zY1+wwIgN0fPOiIL2GGxxZEwEF9l1DW9YZiTt2KK',
    'LQZ1WSc3qJs=',
    '-----END CERTIFICATE-----',
    '',
  ].join('\n'),
  fingerprint: 'e0:be:08:eb:29:c0:ec:69:d7:91:ce:83:5b:d7:e6:13:77:fa:87:33',
} as const;
