/**
 * Numbers of libvirt's remote protocol that this client uses, from libvirt's src/remote/remote_protocol.x,
 * src/rpc/virkeepaliveprotocol.x, include/libvirt/libvirt-domain.h and virterror.h. They are wire ABI:
 * libvirt never renumbers them.
 */
export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;
export const KeepaliveProc = { Ping: 1, Pong: 2 } as const;

/** REMOTE_PROC_* procedure numbers. */
export const Proc = {
  ConnectOpen: 1,
  ConnectClose: 2,
  DomainCreate: 9,
  DomainCreateXml: 10,
  DomainDestroy: 12,
  DomainGetXmlDesc: 14,
  DomainGetInfo: 16,
  DomainLookupById: 22,
  DomainLookupByName: 23,
  DomainLookupByUuid: 24,
  DomainReboot: 27,
  ConnectNumOfDomains: 51,
  ConnectSupportsFeature: 60,
  AuthList: 66,
  AuthPolkit: 70,
  ConnectGetUri: 110,
  DomainGetState: 212,
  DomainReset: 245,
  ConnectListAllDomains: 273,
  ConnectDomainEventCallbackRegisterAny: 316,
  ConnectDomainEventCallbackDeregisterAny: 317,
  DomainEventCallbackLifecycle: 318,
  ConnectGetAllDomainStats: 344,
} as const;

/** remote_auth_type. */
export const AuthType = { None: 0, Sasl: 1, Polkit: 2 } as const;

/** virDrvFeature: the peer speaks the keepalive program. */
export const FEATURE_PROGRAM_KEEPALIVE = 10;

/** virConnectListAllDomainsFlags (they combine; 0 lists every domain). */
export const ListDomainsFlag = { Active: 1, Inactive: 2, Persistent: 4, Transient: 8 } as const;

/** virDomainStatsTypes: the state group (state.state, state.reason) of virConnectGetAllDomainStats. */
export const DOMAIN_STATS_STATE = 1;

/** virTypedParameterType: the type of a typed parameter's value. */
export const TypedParamType = { Int: 1, Uint: 2, Llong: 3, Ullong: 4, Double: 5, Boolean: 6, String: 7 } as const;

/** virDomainEventID. */
export const DOMAIN_EVENT_ID_LIFECYCLE = 0;

/** virDomainEventType. */
export const LifecycleEventType = {
  Defined: 0,
  Undefined: 1,
  Started: 2,
  Suspended: 3,
  Resumed: 4,
  Stopped: 5,
  Shutdown: 6,
  PmSuspended: 7,
  Crashed: 8,
} as const;

/** The virErrorNumber values callers branch on. */
export const ErrorCode = {
  InternalError: 1,
  NoSupport: 3,
  NoConnect: 38,
  Rpc: 39,
  InvalidDomain: 41,
  NoDomain: 42,
  OperationInvalid: 55,
} as const;

/** Limits from remote_protocol.x that bound what the decoder accepts. */
export const REMOTE_STRING_MAX = 4194304;
export const REMOTE_DOMAIN_LIST_MAX = 16384;
export const REMOTE_AUTH_TYPE_LIST_MAX = 20;
export const REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX = 4096;
