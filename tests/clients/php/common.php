<?php
/*
 * What every PHP SoapClient scenario does the way the vendor's PHP samples do it: a
 * SoapClient built from the served ?WSDL, an AuthenticationHeader signed with
 * hash_hmac('sha1', date(DATE_W3C) . $userId, $key) in the samples' time zone, and the
 * JSON report a scenario prints (exit 0 when every step ran, exit 1 with the failed step
 * and the clients' last request/response otherwise, exit 3 without the soap extension).
 */

const MKTOWS_NS = 'http://www.marketo.com/mktows/';

if (!extension_loaded('soap')) {
    fwrite(STDERR, "php soap extension not loaded\n");
    exit(3);
}

// Marketo customers ran these scripts in their own zone; the vendor sample sets one too.
date_default_timezone_set(getenv('MKTOWS_PHP_TZ') ?: 'America/Los_Angeles');

function arg_or_env(int $i, string $env): string
{
    global $argv;
    if (isset($argv[$i]) && $argv[$i] !== '') {
        return $argv[$i];
    }
    $v = getenv($env);
    if ($v === false || $v === '') {
        fwrite(STDERR, "missing argument $i (or env $env)\n");
        exit(2);
    }
    return $v;
}

function auth_header(string $userId, string $secretKey): SoapHeader
{
    $requestTimestamp = date(DATE_W3C);
    $encryptString = $requestTimestamp . $userId;
    $signature = hash_hmac('sha1', $encryptString, $secretKey);
    $attrs = new stdClass();
    $attrs->mktowsUserId = $userId;
    $attrs->requestSignature = $signature;
    $attrs->requestTimestamp = $requestTimestamp;
    return new SoapHeader(MKTOWS_NS, 'AuthenticationHeader', $attrs);
}

function make_client(string $endpoint, bool $singleElementArrays): SoapClient
{
    $options = [
        'connection_timeout' => 20,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'trace' => 1,
        'exceptions' => true,
    ];
    if ($singleElementArrays) {
        $options['features'] = SOAP_SINGLE_ELEMENT_ARRAYS;
    }
    // No 'location' option: the client posts to the soap:address of the served WSDL.
    return new SoapClient($endpoint . '?WSDL', $options);
}

/** Call an operation with a freshly signed header. */
function call(SoapClient $client, string $op, array $params, string $userId, string $secretKey)
{
    $client->__setSoapHeaders([auth_header($userId, $secretKey)]);
    return $client->__soapCall($op, [$params]);
}

/** A list wrapper's items as a PHP array, whichever shape the client gave. */
function as_list($v): array
{
    if ($v === null) {
        return [];
    }
    return is_array($v) ? $v : [$v];
}

/** What a SoapFault carries: faultcode, faultstring and detail/serviceException. */
function fault_report(SoapFault $e): array
{
    $detail = $e->detail ?? null;
    $se = is_object($detail) && isset($detail->serviceException) ? $detail->serviceException : null;
    return [
        'raised' => true,
        'faultcode' => $e->faultcode,
        'faultstring' => $e->faultstring,
        'code' => $se !== null && isset($se->code) ? (int)$se->code : null,
        'name' => $se->name ?? null,
        'message' => $se->message ?? null,
    ];
}

function emit(array $out, int $exitCode): void
{
    echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    exit($exitCode);
}

/** Report an unexpected failure of `$step` with the clients' last exchanges, and exit 1. */
function fail(array $out, string $step, Throwable $e, array $clients): void
{
    $out['ok'] = false;
    $out['step'] = $step;
    $out['error'] = get_class($e) . ': ' . $e->getMessage();
    if ($e instanceof SoapFault) {
        $out['faultcode'] = $e->faultcode ?? null;
        $out['detail'] = json_decode(json_encode($e->detail ?? null), true);
    }
    foreach ($clients as $name => $c) {
        if ($c instanceof SoapClient) {
            $out['trace'][$name] = [
                'lastRequestHeaders' => $c->__getLastRequestHeaders(),
                'lastRequest' => $c->__getLastRequest(),
                'lastResponseHeaders' => $c->__getLastResponseHeaders(),
                'lastResponse' => $c->__getLastResponse(),
            ];
        }
    }
    emit($out, 1);
}
