/**
 * MQTT reason codes the edge sends (MQTT 5.0 §2.4), and the 3.1.1 CONNACK return codes
 * (3.1.1 §3.2.2.3) a 5.0 code becomes for a 3.1.1 client.
 */

export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  /** DISCONNECT: the client asks for its will to be published. */
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierInUse: 0x91,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
  sharedSubscriptionsNotSupported: 0x9e,
  subscriptionIdentifiersNotSupported: 0xa1,
} as const;

/** 3.1.1 CONNACK return codes. */
export const RC311 = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUserNameOrPassword: 4,
  notAuthorized: 5,
} as const;

/** The 3.1.1 CONNACK return code for a 5.0 CONNACK reason code. */
export function connackCode311(rc: number): number {
  switch (rc) {
    case RC.success:
      return RC311.accepted;
    case RC.unsupportedProtocolVersion:
      return RC311.unacceptableProtocolVersion;
    case RC.clientIdentifierNotValid:
      return RC311.identifierRejected;
    case RC.badUserNameOrPassword:
      return RC311.badUserNameOrPassword;
    case RC.notAuthorized:
      return RC311.notAuthorized;
    default:
      return RC311.serverUnavailable;
  }
}
