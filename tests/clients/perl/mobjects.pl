#!/usr/bin/perl
# SOAP::Lite scenario for the MObject and custom-object calls, without
# WSDL, the way Perl users build requests: every element named with SOAP::Data, nested
# with \SOAP::Data->value(...), leaves typed xsd:string with str() (numbers autotyped as
# xsd:int), the answer read from the deserialized hashes (a repeated element comes back as
# an array ref, a single one as itself, an empty wrapper as "": items()).
#
# Usage: perl mobjects.pl ENDPOINT USER KEY EMAIL1 EMAIL2 DEAL
#   (or env MKTOWS_ENDPOINT, MKTOWS_USER, MKTOWS_KEY, MKTOWS_EMAIL, MKTOWS_EMAIL2, MKTOWS_DEAL)
#
# Prints one JSON object on stdout (see MktowsSoap.pm for the exit codes); the shape is the
# one every mobjects scenario prints (tests/test_other_clients_mobjects.py).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use Encode qw(decode_utf8);
use JSON::PP;
use SOAP::Lite;
use MktowsSoap;

my $endpoint = arg_or_env(1, 'MKTOWS_ENDPOINT');
my $user_id  = arg_or_env(2, 'MKTOWS_USER');
my $key      = arg_or_env(3, 'MKTOWS_KEY');
my @emails   = (arg_or_env(4, 'MKTOWS_EMAIL'), arg_or_env(5, 'MKTOWS_EMAIL2'));
my $deal     = decode_utf8(arg_or_env(6, 'MKTOWS_DEAL'));    # @ARGV holds bytes

connect_api($endpoint, $user_id, $key);
my $out = start_report(client => 'perl-soaplite', soap_lite_version => $SOAP::Lite::VERSION);

sub struct { my ($name, @children) = @_; SOAP::Data->name($name => \SOAP::Data->value(@children)) }

# An ArrayOfAttrib from name/value pairs (kept in the given order).
sub attrib_list {
    my ($wrapper, @pairs) = @_;
    my @items;
    while (my ($name, $value) = splice @pairs, 0, 2) {
        push @items, struct(attrib => str(name => $name), str(value => $value));
    }
    return struct($wrapper => @items);
}

# An ArrayOfAttribute from attrName/attrValue pairs.
sub attribute_list {
    my ($wrapper, @pairs) = @_;
    my @items;
    while (my ($name, $value) = splice @pairs, 0, 2) {
        push @items, struct(attribute => str(attrName => $name), str(attrValue => $value));
    }
    return struct($wrapper => @items);
}

sub mobject { my ($type, @pairs) = @_; struct(mObject => str(type => $type), attrib_list(attribList => @pairs)) }

# An mObjCriteriaList of one criterion.
sub criteria {
    my ($name, $comparison, $value) = @_;
    return struct(mObjCriteriaList =>
        struct(mObjCriteria => str(attrName => $name), str(comparison => $comparison), str(attrValue => $value)));
}

# name => value of the ArrayOfAttrib / ArrayOfAttribute `$wrapper` of a deserialized struct.
sub attribs {
    my ($parent, $wrapper) = @_;
    return { map { ($_->{name} => $_->{value}) } items($parent, $wrapper, 'attrib') };
}

sub attributes {
    my ($parent, $wrapper) = @_;
    return { map { ($_->{attrName} => $_->{attrValue}) } items($parent, $wrapper, 'attribute') };
}

sub is_true { my ($v) = @_; return (defined $v && ($v eq 'true' || $v eq '1')) ? JSON::PP::true : JSON::PP::false }

sub result_of { my ($som, $op) = @_; return $som->valueof('//success' . ucfirst($op) . '/result') }

sub api { my ($op, @params) = @_; return result_of(require_ok(call_op($op, @params)), $op) }

sub statuses {
    my ($result) = @_;
    return [map { {
        status => $_->{status},
        id     => defined $_->{id} ? 0 + $_->{id} : undef,
        error  => $_->{error},
    } } items($result, 'mObjStatusList', 'mObjStatus')];
}

sub mobject_report {
    my ($o) = @_;
    my $key = $o->{externalKey};
    return {
        type         => $o->{type},
        id           => 0 + $o->{id},
        createdAt    => $o->{createdAt},
        attrs        => attribs($o, 'attribList'),
        externalKey  => ref $key ? { name => $key->{name}, value => $key->{value} } : undef,
        associations => [map { [$_->{mObjType}, 0 + $_->{id}] } items($o, 'associationList', 'mObjAssociation')],
        typeAttribs  => [map { { attrType => $_->{attrType}, attrs => attribs($_, 'attrList') } }
                         items($o, 'typeAttribList', 'typeAttrib')],
    };
}

sub mobjects { my ($result) = @_; return [map { mobject_report($_) } items($result, 'mObjectList', 'mObject')] }

# Every object of a getMObjects query (params as name/value pairs), following
# newStreamPosition while hasMore.
sub get_all {
    my (@params) = @_;
    my (@objects, @page_sizes, $result);
    my @position;
    do {
        $result = api('getMObjects', @params, @position);
        push @page_sizes, 0 + $result->{returnCount};
        push @objects, @{ mobjects($result) };
        @position = (str(streamPosition => $result->{newStreamPosition}));
    } while (is_true($result->{hasMore}) && @page_sizes < 100);
    return { pageSizes => \@page_sizes, objects => \@objects };
}

sub custom_obj_statuses {
    my ($result, $wrapper) = @_;
    return [map { { status => $_->{status}, keys => attributes($_, 'customObjKeyList'), error => $_->{error} } }
            items($result, $wrapper, 'syncCustomObjStatus')];
}

run_report(sub {
    # 1. two leads, an opportunity and a person role for each
    step('syncLead');
    my @leads = map {
        0 + api('syncLead', struct(leadRecord => str(Email => $_)),
                SOAP::Data->name(returnLead => 'false')->type('boolean'))->{leadId}
    } @emails;
    $out->{leads} = \@leads;

    step('syncMObjects Opportunity');
    my $result = api('syncMObjects',
        struct(mObjectList => mobject('Opportunity',
            Name => $deal, Stage => 'Prospecting', Amount => '25000.50', ExternalOpportunityId => $deal)),
        str(operation => 'INSERT'));
    ($out->{opportunity}) = @{ statuses($result) };
    my $opportunity_id = $out->{opportunity}{id};

    step('syncMObjects OpportunityPersonRole');
    $result = api('syncMObjects',
        struct(mObjectList =>
            mobject('OpportunityPersonRole', OpportunityId => $opportunity_id, PersonId => $leads[0],
                    Role => 'Decision Maker', IsPrimary => 'true'),
            mobject('OpportunityPersonRole', OpportunityId => $opportunity_id, PersonId => $leads[1],
                    Role => 'Influencer', IsPrimary => 'false')),
        str(operation => 'INSERT'));
    $out->{roles} = statuses($result);

    # 2. the role of the first lead, the opportunity by name
    step('getMObjects OpportunityPersonRole by Lead');
    $result = api('getMObjects', str(type => 'OpportunityPersonRole'),
        struct(mObjAssociationList => struct(mObjAssociation =>
            str(mObjType => 'Lead'), SOAP::Data->name(id => $leads[0])->type('int'))));
    $out->{rolesOfLead} = {
        returnCount => 0 + $result->{returnCount},
        hasMore     => is_true($result->{hasMore}),
        objects     => mobjects($result),
    };

    step('getMObjects Opportunity by Name');
    $result = api('getMObjects', str(type => 'Opportunity'),
        criteria(Name => EQ => $deal));
    $out->{opportunityByName} = { returnCount => 0 + $result->{returnCount}, objects => mobjects($result) };

    # 3. every program with its details, then a batch of 101 opportunities (two pages),
    #    following newStreamPosition while hasMore
    step('getMObjects Program');
    $out->{programs} = get_all(str(type => 'Program'), SOAP::Data->name(includeDetails => 'true')->type('boolean'));

    step('syncMObjects 101 Opportunity');
    my @batch = map { mobject('Opportunity', Name => sprintf('%s #%03d', $deal, $_), Region => $deal) } 1 .. 101;
    my @created;
    while (my @chunk = splice @batch, 0, 100) {
        push @created, @{ statuses(api('syncMObjects', struct(mObjectList => @chunk), str(operation => 'INSERT'))) };
    }
    step('getMObjects Opportunity by Region');
    my $pages = get_all(str(type => 'Opportunity'),
        criteria(Region => EQ => $deal));
    $out->{batch} = {
        created    => [map { $_->{status} } @created],
        createdIds => [map { $_->{id} } @created],
        pageSizes  => $pages->{pageSizes},
        ids        => [map { $_->{id} } @{ $pages->{objects} }],
    };

    # 4. custom objects: two Roadshow visits of the first lead, read back by MKTOID, one deleted
    step('syncCustomObjects');
    my $visit = sub { attribute_list($_[0], MKTOID => $leads[0], rid => $_[1]) };
    $result = api('syncCustomObjects', str(objTypeName => 'Roadshow'),
        struct(customObjList =>
            struct(customObj => $visit->(customObjKeyList => 'rs-1'),
                attribute_list(customObjAttributeList => city => 'Lyon', visited_on => '2026-03-01', attendees => 12)),
            struct(customObj => $visit->(customObjKeyList => 'rs-2'),
                attribute_list(customObjAttributeList => city => 'Oslo', visited_on => '2026-04-15', attendees => 7))),
        str(operation => 'UPSERT'));
    $out->{customObjects}{sync} = custom_obj_statuses($result, 'syncCustomObjStatusList');

    my $get_visits = sub {
        my $r = api('getCustomObjects', str(objTypeName => 'Roadshow'),
            attribute_list(customObjKeyList => MKTOID => $leads[0]),
            SOAP::Data->name('includeAttributes'));
        return {
            objTypeName    => $r->{objTypeName},
            returnCount    => 0 + $r->{returnCount},
            remainingCount => 0 + $r->{remainingCount},
            records        => [map { {
                keys  => attributes($_, 'customObjKeyList'),
                attrs => attributes($_, 'customObjAttributeList'),
            } } items($r, 'customObjList', 'customObj')],
        };
    };
    step('getCustomObjects');
    $out->{customObjects}{get} = $get_visits->();

    step('deleteCustomObjects');
    $result = api('deleteCustomObjects', str(objTypeName => 'Roadshow'),
        struct(customObjKeyLists => $visit->(keyList => 'rs-1')));
    $out->{customObjects}{delete} = custom_obj_statuses($result, 'deleteCustomObjStatusList');
    step('getCustomObjects after delete');
    $out->{customObjects}{afterDelete} = $get_visits->();

    # 5. every channel with its statuses, every tag type with its values
    step('getChannels');
    $result = api('getChannels');
    $out->{channels} = [map { {
        name     => $_->{tagValue},
        statuses => [map { attribs($_, 'progressionStatus') } items($_, 'statusList', 'progressionStatusItem')],
    } } items($result, 'tags', 'tagStatus')];

    step('getTags');
    $result = api('getTags');
    $out->{tags} = [map { { type => $_->{type}, values => [items($_, 'values', 'stringItem')] } }
                    items($result, 'tagList', 'tag')];

    # 6. an unknown MObject type comes back as a SOAP fault
    step('getMObjects Invoice');
    $out->{fault} = fault_report(call_op('getMObjects', str(type => 'Invoice')));
});
